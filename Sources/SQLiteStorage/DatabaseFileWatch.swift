import Clocks
import Synchronization
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Hears, through inotify on the database's directory, of everything that can put another file
/// (or none) at the database's path, so that stores need not `stat` the path before every
/// operation (`DatabaseFile`): they `stat` again only after the watch heard something, and at
/// least once a second whatever it heard (a change it cannot see, such as a directory above
/// being renamed, is still caught then).
///
/// The watch sees a change only once `drain()` has read it. The server's dispatcher watches
/// `descriptor` in its epoll set and drains the watch when it turns readable, before it hands
/// out any request that arrived after it did: the kernel queues the event during the rename or
/// unlink itself, ahead of any request sent afterwards, so such a request finds the file refused
/// exactly as it would after its own `stat`.
public final class DatabaseFileWatch: FileReplacementWatch {
    /// The inotify instance: readable while events are pending.
    public let descriptor: Int32
    /// The database's file name inside the watched directory.
    private let name: [UInt8]
    /// Moves whenever something may have changed what is at the path.
    private let changes = Atomic<UInt64>(0)
    /// False once the watch can no longer be trusted (the directory itself moved or went away,
    /// or the kernel dropped the watch): stores then `stat` before every operation again.
    private let trusted = Atomic<Bool>(true)
    /// How long a `stat` vouches for the file without any event: a second.
    static let restatNanoseconds: UInt64 = 1_000_000_000

    /// Events on the directory that can change what the name points at.
    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
    private static let untrusting = UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)

    /// Watches the directory of `path`; nil when the path is a symbolic link (the file it names
    /// lives elsewhere) or inotify is unavailable (no instance left): stores then `stat` each time.
    public init?(path: String) {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFLNK else { return nil }
        let bytes = Array(path.utf8)
        let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
        let directory = slash.map { $0 == 0 ? "/" : String(decoding: bytes[..<$0], as: UTF8.self) } ?? "."
        let instance = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard instance >= 0 else { return nil }
        guard inotify_add_watch(instance, directory, Self.mask | UInt32(IN_ONLYDIR)) >= 0 else {
            close(instance)
            return nil
        }
        name = Array(bytes[(slash.map { $0 + 1 } ?? 0)...])
        descriptor = instance
    }

    deinit {
        close(descriptor)
    }

    /// Reads every pending event; one that concerns the file name (or the directory, or lost
    /// events) moves the changes count. Called by one thread at a time (the dispatcher's).
    public func drain() {
        let bufferSize = 4096
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var moved = false
        while true {
            let count = read(descriptor, buffer, bufferSize)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = offset + MemoryLayout<inotify_event>.size
                if event.mask & Self.untrusting != 0 { trusted.store(false, ordering: .releasing) }
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 || event.mask & Self.untrusting != 0 {
                    moved = true
                } else if event.len > 0 {
                    let raw = UnsafeRawBufferPointer(start: buffer + nameStart, count: Int(event.len))
                    let eventName = raw.prefix { $0 != 0 }
                    if eventName.elementsEqual(name) { moved = true }
                }
                offset = nameStart + Int(event.len)
            }
        }
        if moved { changes.add(1, ordering: .releasing) }
    }

    /// What a store records after a `stat` that found the file unchanged: the changes count read
    /// before that `stat`, and when.
    struct Mark: Sendable {
        let changes: UInt64
        let at: UInt64
    }

    /// The mark to record if the `stat` about to be made finds the file unchanged.
    func mark() -> Mark {
        Mark(changes: changes.load(ordering: .acquiring), at: MonotonicClock.nanoseconds())
    }

    /// Whether the file at the path is still the one `mark`'s `stat` found: nothing was heard
    /// since, the watch is trusted, and the `stat` is under a second old.
    func vouches(for mark: Mark) -> Bool {
        trusted.load(ordering: .acquiring) && changes.load(ordering: .acquiring) == mark.changes
            && MonotonicClock.nanoseconds() &- mark.at < Self.restatNanoseconds
    }
}

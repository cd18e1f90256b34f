import CAtomics
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// The change feed of an SQLite database: a small file beside it (`<database>.changes`) that
/// every worker process of the database maps. Publishing a change bumps the user's bucket and
/// then a wake-up word, and wakes the processes sleeping on that word (a futex on the shared
/// page: one system call, only when someone sleeps). Each process's live-sync thread sleeps
/// there and, woken, compares its waiting users' buckets with what they saw.
///
/// Why a shared page and a futex: the processes share the database file already, so a file
/// beside it needs no further configuration or discovery (a datagram socket per process would
/// need a directory of peers to send to); publishing costs two atomic adds, not a system call per
/// process; the markers are counters, so a wake-up that was missed or merged with others is
/// caught by the next comparison (inotify on the WAL would wake every waiter on every commit).
public final class SharedChangeFeed: ChangeFeed, @unchecked Sendable {
    /// The file beside the database at `databasePath`.
    public static func path(forDatabase databasePath: String) -> String { databasePath + ".changes" }

    private static let magic: UInt64 = 0x746F_646F_6368_6E67  // "todochng"
    private static let version: UInt64 = 1
    /// Words before the buckets: magic, version, the wake-up and sleeper words (two 32-bit
    /// halves of word 2), then room.
    private static let headerWords = 8
    static var byteCount: Int { (headerWords + ChangeBuckets.count) * 8 }

    private let base: UnsafeMutablePointer<UInt64>
    private let wakeWord: UnsafeMutablePointer<UInt32>
    private let sleepers: UnsafeMutablePointer<UInt32>
    /// `@unchecked Sendable`: the mapping is only touched with atomic operations, and lives as
    /// long as the object.
    public let path: String

    /// Maps the feed of the database at `databasePath`, creating its file (mode 0600) if needed.
    public init(databasePath: String) throws(StorageError) {
        path = Self.path(forDatabase: databasePath)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        defer { close(descriptor) }
        // Processes starting together: one sizes the file, the others wait for it under the lock.
        flock(descriptor, LOCK_EX)
        defer { flock(descriptor, LOCK_UN) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Self.failure("fstat", path) }
        if status.st_size < Self.byteCount, ftruncate(descriptor, off_t(Self.byteCount)) != 0 {
            throw Self.failure("ftruncate", path)
        }
        guard let mapping = mmap(nil, Self.byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            throw Self.failure("mmap", path)
        }
        base = mapping.assumingMemoryBound(to: UInt64.self)
        let halves = UnsafeMutableRawPointer(base + 2).assumingMemoryBound(to: UInt32.self)
        wakeWord = halves
        sleepers = halves + 1
        if todo_atomic_load_seq_cst(base) == 0 {
            todo_atomic_store(base + 1, Self.version)
            _ = todo_atomic_compare_exchange_seq_cst(base, 0, Self.magic)
        }
        guard todo_atomic_load_seq_cst(base) == Self.magic, todo_atomic_load_seq_cst(base + 1) == Self.version else {
            munmap(mapping, Self.byteCount)
            throw StorageError(.incompatible, "\(path) is not a change feed of this version (remove it while no worker runs)")
        }
    }

    deinit {
        munmap(base, Self.byteCount)
    }

    public func marker(of key: ChangeKey) -> UInt64 {
        todo_atomic_load_seq_cst(base + Self.headerWords + ChangeBuckets.index(of: key))
    }

    public func publish(_ key: ChangeKey) {
        _ = todo_atomic_increment_seq_cst(base + Self.headerWords + ChangeBuckets.index(of: key))
        _ = todo_atomic_add32_seq_cst(wakeWord, 1)
        if todo_atomic_load32_seq_cst(sleepers) > 0 { todo_futex_wake_all(wakeWord) }
    }

    public func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
        let expected = UInt32(truncatingIfNeeded: seen)
        if todo_atomic_load32_seq_cst(wakeWord) == expected {
            // Announced before the futex compares the word: a publisher that bumps it after this
            // either sees a sleeper and wakes it, or bumped it before the comparison (no sleep).
            _ = todo_atomic_add32_seq_cst(sleepers, 1)
            todo_futex_wait(wakeWord, expected, Int64(min(timeoutNanoseconds, 3_600_000_000_000)))
            _ = todo_atomic_add32_seq_cst(sleepers, -1)
        }
        return UInt64(todo_atomic_load32_seq_cst(wakeWord))
    }

    private static func failure(_ call: String, _ path: String) -> StorageError {
        StorageError(.unavailable, "the change feed \(path): \(call) failed: \(String(cString: strerror(errno)))")
    }
}

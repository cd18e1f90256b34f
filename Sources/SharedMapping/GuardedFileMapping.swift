import CMappingGuard

#if canImport(Glibc)
import Glibc
#endif

/// Why a shared file cannot be mapped.
public struct MappingError: Error, Sendable, CustomStringConvertible {
    /// One line for the operator.
    public let description: String
}

/// A small file that several worker processes map and share (the metrics, live sync's change
/// page), made so that nothing done to the file can kill a process that maps it.
///
/// - A file is never created, grown or rewritten in place: a new one is written beside it with
///   every block allocated (a full disk later cannot turn a store into SIGBUS), then renamed over
///   the path, under a lock on the directory. Processes mapping the old file keep it.
/// - Should the file be shrunk under the mapping after all (a truncation by hand, a foreign
///   tool), a fault in it is caught (`CMappingGuard`): the mapping is replaced with anonymous
///   memory and the access retried, so the process stops sharing through the file instead of
///   dying. `checkIntegrity` finds a shrunk file before anything faults, and a replaced one.
///
/// Not Sendable by itself: its owner shares `base` through atomics and keeps it alive.
public final class GuardedFileMapping {
    /// The file's path.
    public let path: String
    /// The first byte of the mapping; it never moves.
    public let base: UnsafeMutableRawPointer
    /// The mapping's length in bytes.
    public let byteCount: Int
    private let descriptor: Int32
    private let inode: ino_t

    /// Maps the file at `path`: the one there when `isCurrent` accepts its descriptor (it is at
    /// least `byteCount` long), else a new one of `byteCount` zero bytes on which `initialize`
    /// wrote its header first (both run under the directory's lock).
    public init(path: String, byteCount: Int, isCurrent: (Int32) -> Bool,
                initialize: (Int32) -> Bool) throws(MappingError) {
        self.path = path
        self.byteCount = byteCount
        let directory = open(Self.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw Self.failure("open (its directory)", path) }
        defer { close(directory) }
        guard flock(directory, LOCK_EX) == 0 else { throw Self.failure("flock (its directory)", path) }
        defer { flock(directory, LOCK_UN) }
        var descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        if descriptor >= 0, !(Self.size(of: descriptor) >= byteCount && isCurrent(descriptor)) {
            close(descriptor)
            descriptor = -1
        }
        if descriptor < 0 {
            descriptor = try Self.createFile(at: path, byteCount: byteCount, initialize: initialize)
        }
        var status = stat()
        fstat(descriptor, &status)
        guard let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            let error = Self.failure("mmap", path)
            close(descriptor)
            throw error
        }
        if todo_mapping_guard_add(mapping, byteCount) != 0 {
            munmap(mapping, byteCount)
            close(descriptor)
            throw MappingError(description: "\(path): no room to guard another shared mapping")
        }
        self.descriptor = descriptor
        self.inode = status.st_ino
        base = mapping
    }

    deinit {
        todo_mapping_guard_remove(base)
        munmap(base, byteCount)
        close(descriptor)
    }

    /// True once this process stopped sharing through the file: it was found shrunk
    /// (`checkIntegrity`), or a fault in it was caught, and the mapping now holds anonymous memory.
    public var isDetached: Bool { todo_mapping_guard_tripped(base) != 0 }

    /// What became of the file.
    public enum Integrity: Equatable {
        /// Whole, and still the one at `path`.
        case intact
        /// Whole, but `path` names another file now (or none): the mapping stays (nothing in it
        /// can fault, and what it holds is kept), but processes that opened `path` since share
        /// another file.
        case replaced
        /// Shrunk (or a fault in it caught): the mapping holds anonymous memory from now on.
        case detached
    }

    /// Checks the file; a shrunk one is detached first, so that no access can fault. Cheap
    /// (`fstat` and `stat`).
    public func checkIntegrity() -> Integrity {
        if isDetached { return .detached }
        if Self.size(of: descriptor) < byteCount {
            _ = todo_mapping_guard_detach(base)
            return .detached
        }
        var named = stat()
        return stat(path, &named) == 0 && named.st_ino == inode ? .intact : .replaced
    }

    /// Takes the file's lock (for claims that must not race between processes); false on failure.
    public func lock() -> Bool { flock(descriptor, LOCK_EX) == 0 }

    /// Releases `lock`.
    public func unlock() { flock(descriptor, LOCK_UN) }

    private static func size(of descriptor: Int32) -> Int {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int(status.st_size) : -1
    }

    /// A new file at `path`: written beside it, every block allocated, then renamed over it.
    private static func createFile(at path: String, byteCount: Int, initialize: (Int32) -> Bool) throws(MappingError) -> Int32 {
        let temporary = "\(path).new.\(getpid())"
        let descriptor = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw failure("open", temporary) }
        let allocated = posix_fallocate(descriptor, 0, off_t(byteCount))
        guard allocated == 0, initialize(descriptor), rename(temporary, path) == 0 else {
            let reason = allocated != 0 ? "cannot allocate \(byteCount) bytes: \(String(cString: strerror(allocated)))"
                : "cannot write or rename \(temporary): \(String(cString: strerror(errno)))"
            close(descriptor)
            unlink(temporary)
            throw MappingError(description: "\(path): \(reason)")
        }
        return descriptor
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func failure(_ call: String, _ path: String) -> MappingError {
        let error = errno
        return MappingError(description: "\(path): \(call) failed: \(String(cString: strerror(error)))")
    }
}

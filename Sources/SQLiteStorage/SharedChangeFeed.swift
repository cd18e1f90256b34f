import CAtomics
import SharedMapping
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

    private let mapping: GuardedFileMapping
    private let base: UnsafeMutablePointer<UInt64>
    private let wakeWord: UnsafeMutablePointer<UInt32>
    private let sleepers: UnsafeMutablePointer<UInt32>
    /// `@unchecked Sendable`: the mapping is only touched with atomic operations, and lives as
    /// long as the object.
    public var path: String { mapping.path }

    /// Maps the feed of the database at `databasePath`, making its file (mode 0600) if needed,
    /// through `GuardedFileMapping`: a file shrunk under a process is a log line, never SIGBUS.
    public init(databasePath: String) throws(StorageError) {
        let path = Self.path(forDatabase: databasePath)
        let header = [Self.magic, Self.version]
        do {
            mapping = try GuardedFileMapping(path: path, byteCount: Self.byteCount, isCurrent: { descriptor in
                var found: [UInt64] = [0, 0]
                return found.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 16, 0) } == 16 && found == header
            }, initialize: { descriptor in
                var written = header
                return written.withUnsafeMutableBytes { pwrite(descriptor, $0.baseAddress, 16, 0) } == 16
            })
        } catch {
            throw StorageError(.unavailable, "the change feed \(error)")
        }
        base = mapping.base.bindMemory(to: UInt64.self, capacity: Self.byteCount / 8)
        let halves = UnsafeMutableRawPointer(base + 2).assumingMemoryBound(to: UInt32.self)
        wakeWord = halves
        sleepers = halves + 1
    }

    /// Whether the file is still whole and in place. Shrunk, this process stops sharing through
    /// it; replaced, it shares only with the processes that still map the old one. Either way its
    /// waiters still wake on its own changes and at their deadlines.
    public func checkIntact() -> Bool { mapping.checkIntegrity() == .intact }

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
}

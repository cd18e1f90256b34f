import TaskModel

/// What makes committed groups durable: one flush covers every commit before it. Returns 0 or
/// the errno of the failure. Called by one thread at a time.
protocol LogFlusher: AnyObject {
    func flush() -> Int32
}

#if canImport(Glibc)
import Glibc
#endif

/// Makes a database's write-ahead log durable: `fdatasync` on the `-wal` file, through a
/// descriptor of our own (a flush is per file, whichever descriptor asks for it).
///
/// With it, SQLite runs at `synchronous=NORMAL` (a commit writes its WAL frames and releases the
/// write lock without waiting for the disk) and the group commit flushes the WAL itself before
/// answering: the same durability as `synchronous=FULL` — no write is acknowledged before its
/// frames are on disk — but the next group can commit while this one's flush runs.
/// Not Sendable: used by one flushing thread at a time (the group commit's `flushing` turn).
final class WALFlusher: LogFlusher {
    private let path: String
    private var descriptor: Int32 = -1
    private var inode: ino_t = 0

    /// A flusher for the WAL of the database at `databasePath`.
    init(databasePath: String) {
        path = databasePath + "-wal"
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Flushes the WAL; returns 0 or the errno of the failure. Reopens the file when it is not
    /// the one held (created since, or replaced), so a flush never goes to a stale file.
    func flush() -> Int32 {
        var status = stat()
        guard stat(path, &status) == 0 else { return errno }
        if descriptor < 0 || status.st_ino != inode {
            if descriptor >= 0 { close(descriptor) }
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return errno }
            inode = status.st_ino
        }
        return fdatasync(descriptor) == 0 ? 0 : errno
    }
}

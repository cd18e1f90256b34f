import SQLite
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// The database file a store works on, watched for being deleted or replaced.
///
/// SQLite keeps using an open file even after it is deleted or replaced on disk, so writes
/// would go to a file nobody will ever open again. Each store compares the file at the path
/// with the one it opened before every operation (by `stat`, or by what a `DatabaseFileWatch`
/// heard since its last `stat`): a missing file, or a different one (a
/// backup restored under the running service), makes it unavailable (503) until the service
/// restarts; it never reopens (see `SQLiteTaskStore.ensureCurrentFile`).
public struct DatabaseFile: Sendable {
    /// Device and inode: what stays the same while the file is the same file.
    public struct Identity: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
    }

    /// How to open the file.
    public let options: TaskDatabase.Options
    /// Events about the path that spare most checks; nil: every check is a `stat`.
    let watch: DatabaseFileWatch?

    /// Watches the file of `options`, through `watch` when given.
    public init(options: TaskDatabase.Options, watch: DatabaseFileWatch? = nil) {
        self.options = options
        self.watch = watch
    }

    /// The identity of whatever is at the path now, or nil when nothing is.
    public func currentIdentity() -> Identity? {
        var status = stat()
        guard stat(options.path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

}

#if canImport(Glibc)
import Glibc
#endif

/// Where `backup` writes: a new file of mode 0600, made beside the destination and put in its
/// place only once complete, never through a symbolic link, and never over an existing file
/// unless the operator asked (`--force`, as for `keygen`).
///
/// The backup tool (SQLite's `VACUUM INTO`, `pg_dump --file`) writes to `temporaryPath`, a file
/// this process created exclusively (so no link of anyone's can stand there); `publish` then
/// links it to the destination — which fails on any existing name, a symbolic link included —
/// or, when replacing, renames it over the destination (which replaces a link, never writes
/// through it). A backup of everyone's tasks must be no more readable than the database.
public struct BackupFile: ~Copyable {
    /// The destination as given.
    public let destination: String
    /// The file the backup tool writes.
    public let temporaryPath: String
    private let replacing: Bool
    private var published = false

    /// Makes the temporary file; refuses an existing destination (unless `replacing`) before
    /// anything is written.
    public init(destination: String, replacing: Bool) throws(StorageError) {
        self.destination = destination
        self.replacing = replacing
        var status = stat()
        if !replacing, lstat(destination, &status) == 0 {
            throw StorageError(.conflict, "\(destination) already exists; pass --force to replace it")
        }
        var template = Array("\(destination).partial-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw StorageError(.unavailable, "cannot create a file beside \(destination): \(String(cString: strerror(errno)))")
        }
        // mkstemp makes it 0600 whatever the umask; said again, in case the umask is odd.
        fchmod(descriptor, 0o600)
        close(descriptor)
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit {
        if !published { unlink(temporaryPath) }
    }

    /// Puts the finished backup at the destination.
    public consuming func publish() throws(StorageError) {
        if replacing {
            guard rename(temporaryPath, destination) == 0 else { throw failure("rename") }
        } else {
            guard link(temporaryPath, destination) == 0 else {
                if errno == EEXIST { throw StorageError(.conflict, "\(destination) already exists; pass --force to replace it") }
                throw failure("link")
            }
            unlink(temporaryPath)
        }
        published = true
    }

    private func failure(_ call: String) -> StorageError {
        StorageError(.unavailable, "cannot put the backup at \(destination) (\(call)): \(String(cString: strerror(errno)))")
    }
}

import CSQLite
import Caching
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One SQLite database connection, owned by one thread.
///
/// Not Sendable: SQLite is opened in multi-thread mode (`SQLITE_OPEN_NOMUTEX`),
/// which is safe only while each connection stays on the thread that made it.
public final class SQLiteConnection {
    let handle: OpaquePointer
    private var statementCache: [String: SQLiteStatement] = [:]
    /// Statements of a family whose text varies with a shape (e.g. the columns an UPDATE
    /// writes): only the most recently used are kept, however many shapes callers make.
    private var shapedStatementCache = BoundedCache<ShapedStatementKey, SQLiteStatement>(capacity: 64)

    /// Configures the library once, before its first open (see the shim).
    private static let libraryConfigured: Void = { _ = todo_sqlite_disable_memory_statistics() }()

    /// Opens (and, when `create` is true, creates) the database at `path`.
    public init(path: String, create: Bool = true, readOnly: Bool = false) throws(SQLiteError) {
        Self.libraryConfigured
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        if readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if create { flags |= SQLITE_OPEN_CREATE }
        }
        var pointer: OpaquePointer?
        let result = sqlite3_open_v2(path, &pointer, flags, nil)
        guard result == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_close_v2(pointer)
            throw SQLiteError(code: SQLiteResultCode(rawValue: result), message: "cannot open \(path): \(message)")
        }
        handle = pointer
    }

    deinit {
        // Finalize cached statements first; close_v2 then frees the handle even
        // if a statement is still alive somewhere.
        statementCache.removeAll()
        shapedStatementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// How many times a connection of this process waited for another's lock (for metrics).
    public static let busyRetries = Atomic<Int>(0)

    /// Waits up to `milliseconds` for a lock held by another connection before failing with SQLITE_BUSY.
    ///
    /// Unlike `sqlite3_busy_timeout`, whose sleeps grow to 100 ms, this retries every 100 µs for
    /// the first 10 ms and every millisecond after that, so a writer queued behind another
    /// writer's short transaction is not left sleeping long after the lock is free.
    public func setBusyTimeout(milliseconds: Int32) {
        // The timeout travels in the context pointer itself: nothing to allocate or free.
        let context = UnsafeMutableRawPointer(bitPattern: UInt(max(milliseconds, 1)))
        sqlite3_busy_handler(handle, { context, attempts in
            let timeoutMicroseconds = Int(bitPattern: context) * 1000
            let attempts = Int(attempts)
            let waitedMicroseconds = attempts <= 100 ? attempts * 100 : 10_000 + (attempts - 100) * 1000
            guard waitedMicroseconds < timeoutMicroseconds else { return 0 }
            SQLiteConnection.busyRetries.add(1, ordering: .relaxed)
            usleep(attempts < 100 ? 100 : 1000)
            return 1
        }, context)
    }

    /// Runs one or more SQL statements that return no rows of interest.
    public func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard result == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: SQLiteResultCode(rawValue: sqlite3_extended_errcode(handle)), message: message, sql: sql)
        }
    }

    /// Prepares `sql` once per connection and returns the cached, reset statement.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try SQLiteStatement(connection: handle, sql: sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// The statement `sql()` makes for `shape` of `family` (the caller's numbering), prepared
    /// once and kept, reset, while among the 64 shaped statements used most recently.
    public func cachedStatement(family: Int, shape: UInt64, sql: () -> String) throws(SQLiteError) -> SQLiteStatement {
        let key = ShapedStatementKey(family: family, shape: shape)
        if let statement = shapedStatementCache.value(for: key) {
            statement.reset()
            return statement
        }
        let statement = try SQLiteStatement(connection: handle, sql: sql(), persistent: true)
        _ = shapedStatementCache.insert(statement, for: key)
        return statement
    }

    /// Prepares `sql` for one-off use; it is finalized when released.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(connection: handle, sql: sql, persistent: false)
    }

    /// A PASSIVE checkpoint of the write-ahead log (it waits for no reader or writer): returns
    /// how many frames the WAL holds that are now in the database file; 0 when another
    /// connection was checkpointing (SQLITE_BUSY is not a failure here).
    public func checkpointPassively() throws(SQLiteError) -> Int {
        var logFrames: Int32 = 0
        var checkpointedFrames: Int32 = 0
        let result = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointedFrames)
        if result == SQLITE_BUSY { return 0 }
        guard result == SQLITE_OK else {
            throw SQLiteError(code: SQLiteResultCode(rawValue: sqlite3_extended_errcode(handle)), message: lastErrorMessage,
                              sql: "PRAGMA wal_checkpoint(PASSIVE)")
        }
        return Int(max(checkpointedFrames, 0))
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Returns the single integer that `sql` yields (e.g. a PRAGMA), or nil for no row.
    public func scalarInteger(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.int64(at: 0)
    }

    /// Returns the single text value that `sql` yields, or nil for no row or NULL.
    public func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.string(at: 0)
    }

    /// The path of the main database file, as SQLite resolved it.
    public var filename: String? {
        guard let name = sqlite3_db_filename(handle, "main") else { return nil }
        return String(cString: name)
    }

    private var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// The SQLite library version in use.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// A shaped statement's place in the cache.
private struct ShapedStatementKey: Hashable {
    let family: Int
    let shape: UInt64
}

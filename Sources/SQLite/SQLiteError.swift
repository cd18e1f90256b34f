import CSQLite

/// A failed SQLite call: the result code, SQLite's message and the SQL involved.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public let extendedCode: Int32
    /// SQLite's own message for the failure.
    public let message: String
    /// The statement that failed, when there was one.
    public let sql: String?

    /// Creates an error for `code` with `message` (used by the wrapper and by tests).
    public init(code: Int32, message: String, sql: String? = nil) {
        self.extendedCode = code
        self.message = message
        self.sql = sql
    }

    /// An error meaning "the database file cannot be used right now" (reported as SQLITE_CANTOPEN).
    public static func unavailable(_ message: String) -> SQLiteError {
        SQLiteError(code: SQLITE_CANTOPEN, message: message)
    }

    /// The primary result code (the low byte of the extended code).
    public var code: Int32 { extendedCode & 0xFF }

    /// The database was locked by another connection for longer than the busy timeout.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    /// A constraint (CHECK, NOT NULL, UNIQUE) rejected the write.
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }
    /// The database cannot currently be used: full disk, read-only, I/O error,
    /// corruption, not a database, or the file can no longer be opened.
    public var isUnavailable: Bool {
        [SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_NOTADB,
         SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_NOMEM, SQLITE_PROTOCOL].contains(code)
    }

    public var description: String {
        if let sql { return "SQLite error \(extendedCode): \(message) (in \(sql))" }
        return "SQLite error \(extendedCode): \(message)"
    }
}

import CSQLite

/// An SQLite result code (https://sqlite.org/rescode.html), primary or extended.
public struct SQLiteResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as SQLite returns it.
    public let rawValue: Int32

    /// Wraps a code SQLite returned.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The primary code: the low byte of an extended code (`SQLITE_IOERR_FSYNC` → `SQLITE_IOERR`).
    public var primary: SQLiteResultCode { SQLiteResultCode(rawValue: rawValue & 0xFF) }

    /// SQLite's English name for the code, e.g. "database is locked".
    public var description: String { String(cString: sqlite3_errstr(rawValue)) }

    public static let error = SQLiteResultCode(rawValue: SQLITE_ERROR)
    public static let permission = SQLiteResultCode(rawValue: SQLITE_PERM)
    public static let busy = SQLiteResultCode(rawValue: SQLITE_BUSY)
    public static let locked = SQLiteResultCode(rawValue: SQLITE_LOCKED)
    public static let noMemory = SQLiteResultCode(rawValue: SQLITE_NOMEM)
    public static let readOnly = SQLiteResultCode(rawValue: SQLITE_READONLY)
    public static let ioError = SQLiteResultCode(rawValue: SQLITE_IOERR)
    public static let corrupt = SQLiteResultCode(rawValue: SQLITE_CORRUPT)
    public static let full = SQLiteResultCode(rawValue: SQLITE_FULL)
    public static let cannotOpen = SQLiteResultCode(rawValue: SQLITE_CANTOPEN)
    public static let `protocol` = SQLiteResultCode(rawValue: SQLITE_PROTOCOL)
    public static let constraint = SQLiteResultCode(rawValue: SQLITE_CONSTRAINT)
    public static let misuse = SQLiteResultCode(rawValue: SQLITE_MISUSE)
    public static let notADatabase = SQLiteResultCode(rawValue: SQLITE_NOTADB)
}

/// A failed SQLite call: the result code, SQLite's message and the SQL involved.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public let extendedCode: SQLiteResultCode
    /// SQLite's own message for the failure.
    public let message: String
    /// The statement that failed, when there was one.
    public let sql: String?

    /// An error SQLite reported with `code` (extended or primary) and `message`.
    public init(code: SQLiteResultCode, message: String, sql: String? = nil) {
        self.extendedCode = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code.
    public var code: SQLiteResultCode { extendedCode.primary }

    /// The database was locked by another connection for longer than the busy timeout.
    public var isBusy: Bool { code == .busy || code == .locked }
    /// A constraint (CHECK, NOT NULL, UNIQUE) rejected the write.
    public var isConstraintViolation: Bool { code == .constraint }
    /// The database cannot currently be used: full disk, read-only, I/O error,
    /// corruption, not a database, or the file can no longer be opened.
    public var isUnavailable: Bool {
        [.full, .readOnly, .ioError, .corrupt, .notADatabase, .cannotOpen, .permission, .noMemory, .protocol].contains(code)
    }

    public var description: String {
        if let sql { return "SQLite error \(extendedCode.rawValue) (\(code)): \(message) (in \(sql))" }
        return "SQLite error \(extendedCode.rawValue) (\(code)): \(message)"
    }
}

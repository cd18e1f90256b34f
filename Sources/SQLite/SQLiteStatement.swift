import CSQLite

/// A prepared statement. Bind parameters are 1-based, columns 0-based, as in SQLite.
///
/// Not Sendable: it belongs to the connection (and thread) that prepared it.
public final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    /// The SQL text this statement was prepared from.
    public let sql: String

    init(connection: OpaquePointer, sql: String, persistent: Bool) throws(SQLiteError) {
        var pointer: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let result = sqlite3_prepare_v3(connection, sql, -1, flags, &pointer, nil)
        guard result == SQLITE_OK, let pointer else {
            throw SQLiteError(code: SQLiteResultCode(rawValue: sqlite3_extended_errcode(connection)),
                              message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.handle = pointer
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Resets the statement and clears its bindings, releasing any read snapshot it held.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds an integer to parameter `index`.
    public func bind(_ value: Int64, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    /// Binds a boolean as 0 or 1 to parameter `index`.
    public func bind(_ value: Bool, at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_int(handle, index, value ? 1 : 0))
    }

    /// Binds text (or NULL for nil) to parameter `index`; embedded NUL bytes are kept.
    public func bind(_ value: String?, at index: Int32) throws(SQLiteError) {
        guard var value else {
            try check(sqlite3_bind_null(handle, index))
            return
        }
        try check(value.withUTF8 { bindTextCode($0, at: index) })
    }

    /// Binds UTF-8 text (or NULL for nil), which SQLite copies, to parameter `index`; embedded
    /// NUL bytes are kept.
    public func bindText(_ utf8: UnsafeBufferPointer<UInt8>?, at index: Int32) throws(SQLiteError) {
        try check(utf8.map { bindTextCode($0, at: index) } ?? sqlite3_bind_null(handle, index))
    }

    private func bindTextCode(_ utf8: UnsafeBufferPointer<UInt8>, at index: Int32) -> Int32 {
        guard let base = utf8.baseAddress, utf8.count > 0 else {
            // An empty string is text, not NULL: it needs a non-null pointer.
            return sqlite3_bind_text(handle, index, "", 0, todo_sqlite_transient())
        }
        return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
            sqlite3_bind_text(handle, index, $0, Int32(utf8.count), todo_sqlite_transient())
        }
    }

    /// Binds NULL to parameter `index`.
    /// Binds an optional integer (NULL for nil) to the 1-based parameter `index`.
    public func bind(_ value: Int64?, at index: Int32) throws(SQLiteError) {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    public func bindNull(at index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    /// Advances to the next row: true when a row is available, false when done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(code: SQLiteResultCode(rawValue: sqlite3_extended_errcode(connection)),
                                    message: String(cString: sqlite3_errmsg(connection)), sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs the statement to completion, ignoring any rows.
    public func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    /// The integer in column `index` of the current row.
    public func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// Whether column `index` of the current row is NULL.
    public func isNull(at index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    /// The text in column `index` of the current row, or nil when it is NULL.
    public func string(at index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Calls `body` with the raw UTF-8 bytes of column `index`, valid only during the call.
    public func withUTF8<Result>(at index: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let text = sqlite3_column_text(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return body(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
    }

    private func check(_ result: Int32) throws(SQLiteError) {
        guard result == SQLITE_OK else {
            throw SQLiteError(code: SQLiteResultCode(rawValue: result), message: String(cString: sqlite3_errstr(result)), sql: sql)
        }
    }
}

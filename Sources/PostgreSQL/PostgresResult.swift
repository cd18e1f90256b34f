import ASCII
import CPostgres

/// The rows of one statement, in libpq's text format. Owns its `PGresult` and frees it in
/// `deinit`; the text accessors hand out libpq's own buffers, valid while the result lives.
///
/// Not Sendable: it belongs to the thread that ran the statement.
public final class PostgresResult {
    private let handle: OpaquePointer

    /// Takes ownership of `handle`.
    init(taking handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    /// How many rows there are.
    public var rowCount: Int32 { PQntuples(handle) }

    /// How many rows the statement changed (INSERT, UPDATE, DELETE), from its command tag.
    public var affectedRows: Int64 {
        ASCIIDecimal.parse(Array(String(cString: PQcmdTuples(handle)).utf8)) ?? 0
    }

    /// Whether the value at `row`, `column` is NULL.
    public func isNull(row: Int32, column: Int32) -> Bool {
        PQgetisnull(handle, row, column) != 0
    }

    /// Calls `body` with the value's text as UTF-8 (empty for NULL).
    public func withUTF8<R>(row: Int32, column: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let length = Int(PQgetlength(handle, row, column))
        guard length > 0, let value = PQgetvalue(handle, row, column) else {
            return body(UnsafeBufferPointer(start: nil, count: 0))
        }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { body(UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// The value as an integer (0 for NULL or text that is not one).
    public func int64(row: Int32, column: Int32) -> Int64 {
        withUTF8(row: row, column: column) { ASCIIDecimal.parseSigned($0) ?? 0 }
    }

    /// The value as a boolean: PostgreSQL writes `t` or `f`.
    public func bool(row: Int32, column: Int32) -> Bool {
        withUTF8(row: row, column: column) { $0.first == UInt8(ascii: "t") }
    }

    /// The value as a string; nil for NULL.
    public func text(row: Int32, column: Int32) -> String? {
        isNull(row: row, column: column) ? nil : withUTF8(row: row, column: column) { String(decoding: $0, as: UTF8.self) }
    }
}

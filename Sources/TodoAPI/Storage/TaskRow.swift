import PostgreSQL
import SQLite

/// One task row, read in place from the result that produced it.
///
/// Valid only inside the callback that receives it: the text accessors hand out the backend's
/// own buffers, so rendering a list copies each string once, into the response. The backends
/// are a closed set, switched on per column (a list of 20 tasks reads 140 columns), so the
/// compiler sees through to each backend's accessors; a second backend adds a case.
public struct TaskRow {
    /// The column list every query selects, in the order the accessors read.
    public static let columnList = "id, user_id, title, description, completed, created_at, updated_at"

    /// Where the columns are.
    enum Source {
        /// The current row of an SQLite statement.
        case sqlite(SQLiteStatement)
        /// A row copied out of its statement (a write committed by another thread's group).
        case stored(StoredTask)
        /// Row `row` of a PostgreSQL result, whose columns are in the order of `columnList`.
        case postgres(PostgresResult, row: Int32)
    }

    let source: Source

    /// The current row of `statement`, whose columns are in the order of `columnList`.
    init(statement: SQLiteStatement) {
        source = .sqlite(statement)
    }

    /// A copied row.
    init(stored: StoredTask) {
        source = .stored(stored)
    }

    /// Row `row` of `result`, whose columns are in the order of `columnList`.
    init(result: PostgresResult, row: Int32) {
        source = .postgres(result, row: row)
    }

    /// Never reused, even after the task is deleted.
    public var id: Int64 { int64(at: 0) }
    /// Whether the task is done.
    public var completed: Bool { int64(at: 4) != 0 }
    /// Creation time, milliseconds since the epoch.
    public var createdAt: Int64 { int64(at: 5) }
    /// Last change, milliseconds since the epoch; strictly increases with each change.
    public var updatedAt: Int64 { int64(at: 6) }
    /// Whether the description is NULL.
    public var hasDescription: Bool {
        switch source {
        case .sqlite(let statement): return !statement.isNull(at: 3)
        case .stored(let task): return task.description != nil
        case .postgres(let result, let row): return !result.isNull(row: row, column: 3)
        }
    }

    /// Calls `body` with the owner's id as UTF-8.
    public func withUserID<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(at: 1, body) }
    /// Calls `body` with the title as UTF-8.
    public func withTitle<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(at: 2, body) }
    /// Calls `body` with the description as UTF-8 (empty when NULL; check `hasDescription`).
    public func withDescription<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(at: 3, body) }

    private func int64(at column: Int32) -> Int64 {
        switch source {
        case .sqlite(let statement): return statement.int64(at: column)
        case .stored(let task):
            switch column {
            case 0: return task.id
            case 4: return task.completed ? 1 : 0
            case 5: return task.createdAt
            default: return task.updatedAt
            }
        case .postgres(let result, let row):
            // PostgreSQL's boolean arrives as `t` or `f`.
            return column == 4 ? (result.bool(row: row, column: 4) ? 1 : 0) : result.int64(row: row, column: column)
        }
    }

    private func withUTF8<R>(at column: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch source {
        case .sqlite(let statement): return statement.withUTF8(at: column, body)
        case .stored(let task):
            let bytes = column == 1 ? task.userID : column == 2 ? task.title : task.description ?? []
            return bytes.withUnsafeBufferPointer(body)
        case .postgres(let result, let row): return result.withUTF8(row: row, column: column, body)
        }
    }
}

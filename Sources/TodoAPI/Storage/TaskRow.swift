import SQLite

/// One row of the tasks table, read in place from the statement that produced it.
///
/// Valid only inside the callback that receives it: the text accessors hand out
/// SQLite's own buffers, so rendering a list copies each string once, into the response.
public struct TaskRow {
    let statement: SQLiteStatement

    /// Never reused, even after the task is deleted.
    public var id: Int64 { statement.int64(at: 0) }
    /// Whether the task is done.
    public var completed: Bool { statement.int64(at: 4) != 0 }
    /// Creation time, milliseconds since the epoch.
    public var createdAt: Int64 { statement.int64(at: 5) }
    /// Last change, milliseconds since the epoch; strictly increases with each change.
    public var updatedAt: Int64 { statement.int64(at: 6) }
    /// Whether the description is NULL.
    public var hasDescription: Bool { !statement.isNull(at: 3) }

    /// Calls `body` with the owner's id as UTF-8.
    public func withUserID<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { statement.withUTF8(at: 1, body) }
    /// Calls `body` with the title as UTF-8.
    public func withTitle<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { statement.withUTF8(at: 2, body) }
    /// Calls `body` with the description as UTF-8 (empty when NULL; check `hasDescription`).
    public func withDescription<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { statement.withUTF8(at: 3, body) }

    /// The column list every query selects, in the order the accessors read.
    static let columns = "id, user_id, title, description, completed, created_at, updated_at"
}

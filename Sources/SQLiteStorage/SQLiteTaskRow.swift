import SQLite
import TaskModel

/// The current row of an SQLite statement that selected `TaskColumn.selectList` first: read in
/// place, so a list is rendered straight from SQLite's buffers.
struct SQLiteTaskRow: TaskRowSource {
    let statement: SQLiteStatement

    func isNull(_ column: TaskColumn) -> Bool { statement.isNull(at: column.rawValue) }

    // SQLite gives 0 for NULL, as the protocol asks, without a second call.
    func integer(_ column: TaskColumn) -> Int64 { statement.int64(at: column.rawValue) }

    func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        statement.withUTF8(at: column.rawValue, body)
    }
}

extension TaskRow {
    /// The current row of `statement`.
    init(statement: SQLiteStatement) {
        self.init(SQLiteTaskRow(statement: statement))
    }
}

extension StoredTask {
    /// A copy of the current row of `statement`.
    convenience init(statement: SQLiteStatement) {
        self.init(TaskRow(statement: statement))
    }
}

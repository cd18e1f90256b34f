import ASCII
import PostgreSQL
import TaskModel

/// Row `row` of a PostgreSQL result that selected `TaskColumn.selectList` first: read in place.
struct PostgresTaskRow: TaskRowSource {
    let result: PostgresResult
    let row: Int32

    func isNull(_ column: TaskColumn) -> Bool { result.isNull(row: row, column: column.rawValue) }

    func integer(_ column: TaskColumn) -> Int64 {
        if result.isNull(row: row, column: column.rawValue) { return 0 }
        // PostgreSQL's boolean arrives as `t` or `f`.
        if column.kind == .boolean { return result.bool(row: row, column: column.rawValue) ? 1 : 0 }
        return result.int64(row: row, column: column.rawValue)
    }

    func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        result.withUTF8(row: row, column: column.rawValue, body)
    }
}

extension TaskRow {
    /// Row `row` of `result`.
    init(result: PostgresResult, row: Int32) {
        self.init(PostgresTaskRow(result: result, row: row))
    }
}

extension StoredTask {
    /// A copy of row `row` of `result`.
    convenience init(result: PostgresResult, row: Int32) {
        self.init(TaskRow(result: result, row: row))
    }
}

/// A row of `COPY (SELECT TaskColumn.selectList …) TO STDOUT`, decoded: read in place.
struct PostgresCopyTaskRow: TaskRowSource {
    let row: PostgresCopyTextRow

    func isNull(_ column: TaskColumn) -> Bool { row.isNull(Int(column.rawValue)) }

    func integer(_ column: TaskColumn) -> Int64 {
        row.withField(Int(column.rawValue)) { text in
            // PostgreSQL's boolean arrives as `t` or `f`.
            if column.kind == .boolean { return text.first == UInt8(ascii: "t") ? 1 : 0 }
            return ASCIIDecimal.parseSigned(text) ?? 0
        }
    }

    func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        row.withField(Int(column.rawValue), body)
    }
}

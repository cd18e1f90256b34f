import SQLite

/// A task row copied out of its statement, so it can travel from the thread that committed it
/// (the leader of a group commit) to the thread that renders the response.
struct StoredTask: Sendable {
    let id: Int64
    let userID: [UInt8]
    let title: [UInt8]
    let description: [UInt8]?
    let completed: Bool
    let createdAt: Int64
    let updatedAt: Int64

    /// The current row of `statement`, whose columns are `TaskRow.columnList`.
    init(statement: SQLiteStatement) {
        func bytes(_ column: Int32) -> [UInt8] { statement.withUTF8(at: column) { Array($0) } }
        id = statement.int64(at: 0)
        userID = bytes(1)
        title = bytes(2)
        description = statement.isNull(at: 3) ? nil : bytes(3)
        completed = statement.int64(at: 4) != 0
        createdAt = statement.int64(at: 5)
        updatedAt = statement.int64(at: 6)
    }
}

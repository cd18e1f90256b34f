import SQLite

/// A task row copied out of its statement, so it can travel from the thread that committed it
/// (the leader of a group commit) to the thread that renders the response, or from one
/// database to another (`copy`).
public struct StoredTask: Sendable, Equatable {
    /// The task id.
    public let id: Int64
    /// The owner's id, UTF-8.
    public let userID: [UInt8]
    /// The title, UTF-8.
    public let title: [UInt8]
    /// The description, UTF-8; nil when NULL.
    public let description: [UInt8]?
    /// Whether the task is done.
    public let completed: Bool
    /// Creation time, milliseconds since the epoch.
    public let createdAt: Int64
    /// Last change, milliseconds since the epoch.
    public let updatedAt: Int64

    /// A row of `row`'s values.
    init(_ row: TaskRow) {
        id = row.id
        userID = row.withUserID { Array($0) }
        title = row.withTitle { Array($0) }
        description = row.hasDescription ? row.withDescription { Array($0) } : nil
        completed = row.completed
        createdAt = row.createdAt
        updatedAt = row.updatedAt
    }

    /// The current row of `statement`, whose columns are `TaskRow.columnList`.
    init(statement: SQLiteStatement) {
        self.init(TaskRow(statement: statement))
    }
}

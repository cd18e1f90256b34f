import JSON
import SQLite

/// A task row copied out of its statement, so it can travel from the thread that committed it
/// (the leader of a group commit) to the thread that renders the response, be decided on by a
/// write's rules, or go from one database to another (`copy`).
///
/// A class of constants: one reference to copy, so `TaskRow`, an enum over a statement, a result
/// and this, stays a small value that every column read copies cheaply.
public final class StoredTask: Sendable, Equatable {
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
    /// The priority.
    public let priority: TaskPriority
    /// The tags as the JSON array text stored and returned.
    public let tagsJSON: [UInt8]
    /// The due date, if any.
    public let dueDate: TaskDueDate?
    /// The recurrence, if any.
    public let recurrence: TaskRecurrence?
    /// When it last became completed, if completed.
    public let completedAt: Int64?
    /// The occurrence created when it was completed, if any.
    public let nextTaskID: Int64?
    /// The version (ETag).
    public let version: Int64

    public static func == (lhs: StoredTask, rhs: StoredTask) -> Bool {
        lhs.id == rhs.id && lhs.userID == rhs.userID && lhs.title == rhs.title && lhs.description == rhs.description
            && lhs.completed == rhs.completed && lhs.createdAt == rhs.createdAt && lhs.updatedAt == rhs.updatedAt
            && lhs.priority == rhs.priority && lhs.tagsJSON == rhs.tagsJSON && lhs.dueDate == rhs.dueDate
            && lhs.recurrence == rhs.recurrence && lhs.completedAt == rhs.completedAt && lhs.nextTaskID == rhs.nextTaskID
            && lhs.version == rhs.version
    }

    /// A row of `row`'s values.
    init(_ row: TaskRow) {
        id = row.id
        userID = row.withUserID { Array($0) }
        title = row.withTitle { Array($0) }
        description = row.hasDescription ? row.withDescription { Array($0) } : nil
        completed = row.completed
        createdAt = row.createdAt
        updatedAt = row.updatedAt
        priority = row.priority
        tagsJSON = row.withTagsJSON { Array($0) }
        dueDate = row.dueDate
        recurrence = row.recurrence
        completedAt = row.completedAt
        nextTaskID = row.nextTaskID
        version = row.version
    }

    /// The row a create of `state` as task `id` of `userID` at `now` stores.
    init(id: Int64, userID: String, state: TaskState, now: Int64) {
        self.id = id
        self.userID = Array(userID.utf8)
        title = Array(state.title.utf8)
        description = state.description.map { Array($0.utf8) }
        completed = state.completed
        createdAt = now
        updatedAt = now
        priority = state.priority
        tagsJSON = Array(state.tagsJSON.utf8)
        dueDate = state.dueDate
        recurrence = state.recurrence
        completedAt = state.completed ? now : nil
        nextTaskID = nil
        version = 1
    }

    /// The current row of `statement`, whose columns are `TaskRow.columnList`.
    convenience init(statement: SQLiteStatement) {
        self.init(TaskRow(statement: statement))
    }

    /// The writable fields as they are stored.
    public var state: TaskState {
        var state = TaskState(title: String(decoding: title, as: UTF8.self))
        state.description = description.map { String(decoding: $0, as: UTF8.self) }
        state.completed = completed
        state.priority = priority
        state.tags = Self.tags(fromJSON: tagsJSON)
        state.dueDate = dueDate
        state.recurrence = recurrence
        return state
    }

    /// The strings of a stored JSON array (written by `TaskState.tagsJSON`).
    static func tags(fromJSON bytes: [UInt8]) -> [String] {
        guard case .array(let values)? = try? JSONParser(maximumDepth: 2).parse(bytes) else { return [] }
        return values.compactMap(\.stringValue)
    }
}

/// A task row copied out of the database, so it can travel from the thread that committed it
/// (the leader of a group commit) to the thread that renders the response, be decided on by a
/// write's rules, or go from one database to another (`copy`).
///
/// A class of constants: one reference to copy, so a `TaskRow` over it stays cheap.
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
    /// The iCalendar UID, UTF-8.
    public let uid: [UInt8]
    /// The CalDAV resource name, UTF-8.
    public let resourceName: [UInt8]
    /// The kept iCalendar text (`TaskState.calendarData`), UTF-8; nil when NULL.
    public let calendarData: [UInt8]?
    /// The version (ETag).
    public let version: Int64

    public static func == (lhs: StoredTask, rhs: StoredTask) -> Bool {
        lhs.storedValues(TaskColumn.selected) == rhs.storedValues(TaskColumn.selected)
    }

    /// A copy of `row`.
    public init(_ row: TaskRow) {
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
        uid = row.withUID { Array($0) }
        resourceName = row.withResourceName { Array($0) }
        calendarData = row.hasCalendarData ? row.withCalendarData { Array($0) } : nil
        version = row.version
    }

    /// A copy of the row `source` holds.
    public convenience init(_ source: any TaskRowSource) {
        self.init(TaskRow(source))
    }

    /// The row a create of `state` as task `id` of `userID` at `now` stores.
    public init(id: Int64, userID: String, state: TaskState, now: Int64) {
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
        completedAt = state.completed ? state.reportedCompletedAt ?? now : nil
        nextTaskID = nil
        uid = Array(state.uid.utf8)
        resourceName = Array(state.resourceName.utf8)
        calendarData = state.calendarData.map { Array($0.utf8) }
        version = 1
    }

    /// The row of task `id` of `userID` holding `state`, with the rest as given (a write's result).
    public init(id: Int64, userID: String, state: TaskState, createdAt: Int64, updatedAt: Int64, completedAt: Int64?,
                nextTaskID: Int64?, version: Int64) {
        self.id = id
        self.userID = Array(userID.utf8)
        title = Array(state.title.utf8)
        description = state.description.map { Array($0.utf8) }
        completed = state.completed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        priority = state.priority
        tagsJSON = Array(state.tagsJSON.utf8)
        dueDate = state.dueDate
        recurrence = state.recurrence
        self.completedAt = completedAt
        self.nextTaskID = nextTaskID
        uid = Array(state.uid.utf8)
        resourceName = Array(state.resourceName.utf8)
        calendarData = state.calendarData.map { Array($0.utf8) }
        self.version = version
    }

    /// A view of this row for rendering.
    public var row: TaskRow { TaskRow(self) }

    /// The writable fields as they are stored.
    public var state: TaskState { row.state }

    /// What `columns` store for this task, in order (see `TaskRow.forEachStoredValue`).
    public func storedValues(_ columns: [TaskColumn]) -> [StoredValue] {
        var values: [StoredValue] = []
        values.reserveCapacity(columns.count)
        // Appending cannot fail.
        try? row.forEachStoredValue(columns) { _, value in values.append(StoredValue(value)) }
        return values
    }
}

extension StoredTask: TaskRowSource {
    public func isNull(_ column: TaskColumn) -> Bool {
        switch column {
        case .description: return description == nil
        case .dueDate: return dueDate == nil
        case .recurrenceFrequency, .recurrenceInterval: return recurrence == nil
        case .completedAt: return completedAt == nil
        case .nextTaskID: return nextTaskID == nil
        case .calendarData: return calendarData == nil
        default: return false
        }
    }

    public func integer(_ column: TaskColumn) -> Int64 {
        switch column {
        case .id: return id
        case .completed: return completed ? 1 : 0
        case .createdAt: return createdAt
        case .updatedAt: return updatedAt
        case .priority: return priority.rawValue
        case .dueDate: return dueDate?.milliseconds ?? 0
        case .dueAllDay: return dueDate?.isAllDay == true ? 1 : 0
        case .recurrenceFrequency: return recurrence?.frequency.rawValue ?? 0
        case .recurrenceInterval: return recurrence?.interval ?? 0
        case .completedAt: return completedAt ?? 0
        case .nextTaskID: return nextTaskID ?? 0
        case .version: return version
        default: return 0
        }
    }

    public func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        switch column {
        case .userID: return userID.withUnsafeBufferPointer(body)
        case .title: return title.withUnsafeBufferPointer(body)
        case .tags: return tagsJSON.withUnsafeBufferPointer(body)
        case .description: return (description ?? []).withUnsafeBufferPointer(body)
        case .uid: return uid.withUnsafeBufferPointer(body)
        case .resourceName: return resourceName.withUnsafeBufferPointer(body)
        case .calendarData: return (calendarData ?? []).withUnsafeBufferPointer(body)
        default: return [UInt8]().withUnsafeBufferPointer(body)
        }
    }
}

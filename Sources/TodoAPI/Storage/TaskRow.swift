import PostgreSQL
import SQLite

/// One task row, read in place from the result that produced it.
///
/// Valid only inside the callback that receives it: the text accessors hand out the backend's
/// own buffers, so rendering a list copies each string once, into the response. The backends
/// are a closed set, switched on per column, so the compiler sees through to each backend's
/// accessors.
public struct TaskRow {
    /// The column list every query selects, in the order the accessors read.
    public static let columnList = "id, user_id, title, description, completed, created_at, updated_at, "
        + "priority, tags, due_date, due_all_day, recurrence_frequency, recurrence_interval, completed_at, next_task_id, version"
    /// How many columns `columnList` has.
    static let columnCount: Int32 = 16

    enum Column: Int32 {
        case id = 0, userID, title, description, completed, createdAt, updatedAt
        case priority, tags, dueDate, dueAllDay, recurrenceFrequency, recurrenceInterval, completedAt, nextTaskID, version
    }

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
    public var id: Int64 { required(.id) }
    /// Whether the task is done.
    public var completed: Bool { required(.completed) != 0 }
    /// Creation time, milliseconds since the epoch.
    public var createdAt: Int64 { required(.createdAt) }
    /// Last change, milliseconds since the epoch; strictly increases with each change.
    public var updatedAt: Int64 { required(.updatedAt) }
    /// Whether the description is NULL.
    public var hasDescription: Bool { !isNull(.description) }
    /// The priority.
    public var priority: TaskPriority { TaskPriority(rawValue: required(.priority)) ?? .default }
    /// The due date, if any.
    public var dueDate: TaskDueDate? {
        int64(.dueDate).map { TaskDueDate(milliseconds: $0, isAllDay: required(.dueAllDay) != 0) }
    }
    /// The recurrence, if any.
    public var recurrence: TaskRecurrence? {
        guard let code = int64(.recurrenceFrequency), let frequency = TaskRecurrence.Frequency(rawValue: code) else { return nil }
        return TaskRecurrence(frequency: frequency, interval: int64(.recurrenceInterval) ?? 1)
    }
    /// When the task last became completed, if it is completed.
    public var completedAt: Int64? { int64(.completedAt) }
    /// The occurrence created when this recurring task was completed.
    public var nextTaskID: Int64? { int64(.nextTaskID) }
    /// +1 on every write; the ETag.
    public var version: Int64 { required(.version) }

    /// Calls `body` with the owner's id as UTF-8.
    public func withUserID<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(.userID, body) }
    /// Calls `body` with the title as UTF-8.
    public func withTitle<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(.title, body) }
    /// Calls `body` with the description as UTF-8 (empty when NULL; check `hasDescription`).
    public func withDescription<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(.description, body) }
    /// Calls `body` with the tags as the JSON array text the API returns.
    public func withTagsJSON<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { withUTF8(.tags, body) }

    private func isNull(_ column: Column) -> Bool {
        switch source {
        case .sqlite(let statement): return statement.isNull(at: column.rawValue)
        case .postgres(let result, let row): return result.isNull(row: row, column: column.rawValue)
        case .stored(let task):
            switch column {
            case .description: return task.description == nil
            case .dueDate: return task.dueDate == nil
            case .recurrenceFrequency, .recurrenceInterval: return task.recurrence == nil
            case .completedAt: return task.completedAt == nil
            case .nextTaskID: return task.nextTaskID == nil
            default: return false
            }
        }
    }

    /// The integer in a NOT NULL column: read without asking whether it is NULL.
    private func required(_ column: Column) -> Int64 {
        if case .sqlite(let statement) = source { return statement.int64(at: column.rawValue) }
        return int64(column) ?? 0
    }

    /// The integer in `column`; nil when NULL.
    private func int64(_ column: Column) -> Int64? {
        switch source {
        case .sqlite(let statement):
            return statement.isNull(at: column.rawValue) ? nil : statement.int64(at: column.rawValue)
        case .postgres(let result, let row):
            if result.isNull(row: row, column: column.rawValue) { return nil }
            // PostgreSQL's boolean arrives as `t` or `f`.
            if column == .completed || column == .dueAllDay { return result.bool(row: row, column: column.rawValue) ? 1 : 0 }
            return result.int64(row: row, column: column.rawValue)
        case .stored(let task):
            switch column {
            case .id: return task.id
            case .completed: return task.completed ? 1 : 0
            case .createdAt: return task.createdAt
            case .updatedAt: return task.updatedAt
            case .priority: return task.priority.rawValue
            case .dueDate: return task.dueDate?.milliseconds
            case .dueAllDay: return task.dueDate?.isAllDay == true ? 1 : 0
            case .recurrenceFrequency: return task.recurrence?.frequency.rawValue
            case .recurrenceInterval: return task.recurrence?.interval
            case .completedAt: return task.completedAt
            case .nextTaskID: return task.nextTaskID
            case .version: return task.version
            default: return nil
            }
        }
    }

    private func withUTF8<R>(_ column: Column, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch source {
        case .sqlite(let statement): return statement.withUTF8(at: column.rawValue, body)
        case .postgres(let result, let row): return result.withUTF8(row: row, column: column.rawValue, body)
        case .stored(let task):
            let bytes: [UInt8]
            switch column {
            case .userID: bytes = task.userID
            case .title: bytes = task.title
            case .tags: bytes = task.tagsJSON
            default: bytes = task.description ?? []
            }
            return bytes.withUnsafeBufferPointer(body)
        }
    }
}

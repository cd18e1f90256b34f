/// Every column of the `tasks` table, in one table: both backends' selects, row readers,
/// binds and imports are written from it, and a test holds each backend's schema to it
/// (`theSchemaHasExactlyTheColumnTable`). A new column is a case here, its value in
/// `StoredTask.storedValue(_:)` (and `TaskState` if clients write it), and a migration.
///
/// The first cases, through `version`, are the columns every task query selects, in that
/// order: a case's raw value is its position in a selected row.
public enum TaskColumn: Int32, CaseIterable, Sendable {
    case id = 0, userID, title, description, completed, createdAt, updatedAt, priority, tags
    case dueDate, dueAllDay, recurrenceFrequency, recurrenceInterval, completedAt, nextTaskID
    /// The iCalendar identity and what CalDAV clients wrote that has no field (Addendum v2.2).
    case uid, resourceName, calendarData
    case version
    /// Kept for queries, never returned: derived from the state by the application.
    case titleKey, tagKeys, searchText
    /// The user's change number of the task's last write (incremental sync).
    case changeSeq

    /// The column's name in both schemas.
    public var name: String {
        switch self {
        case .id: return "id"
        case .userID: return "user_id"
        case .title: return "title"
        case .description: return "description"
        case .completed: return "completed"
        case .createdAt: return "created_at"
        case .updatedAt: return "updated_at"
        case .priority: return "priority"
        case .tags: return "tags"
        case .dueDate: return "due_date"
        case .dueAllDay: return "due_all_day"
        case .recurrenceFrequency: return "recurrence_frequency"
        case .recurrenceInterval: return "recurrence_interval"
        case .completedAt: return "completed_at"
        case .nextTaskID: return "next_task_id"
        case .uid: return "uid"
        case .resourceName: return "resource_name"
        case .calendarData: return "calendar_data"
        case .version: return "version"
        case .titleKey: return "title_key"
        case .tagKeys: return "tag_keys"
        case .searchText: return "search_text"
        case .changeSeq: return "change_seq"
        }
    }

    /// What the column holds.
    public enum Kind: Sendable {
        case integer, text, boolean
    }

    /// What the column holds (SQLite stores booleans as 0/1 integers).
    public var kind: Kind {
        switch self {
        case .userID, .title, .description, .tags, .titleKey, .tagKeys, .searchText, .uid, .resourceName, .calendarData: return .text
        case .completed, .dueAllDay: return .boolean
        default: return .integer
        }
    }

    /// Its PostgreSQL type: every parameter is sent as text and cast to it.
    public var postgresType: String {
        switch self {
        case .userID, .title, .description, .tags, .titleKey, .tagKeys, .searchText, .uid, .resourceName, .calendarData: return "text"
        case .completed, .dueAllDay: return "boolean"
        case .priority, .recurrenceFrequency, .recurrenceInterval: return "smallint"
        case .id, .createdAt, .updatedAt, .dueDate, .completedAt, .nextTaskID, .version, .changeSeq: return "bigint"
        }
    }

    /// Whether every task query selects it (its raw value is then its position).
    public var isSelected: Bool { rawValue <= TaskColumn.version.rawValue }

    /// Whether a write of a task's state (`TaskState`) sets it.
    public var isState: Bool {
        switch self {
        case .title, .description, .completed, .priority, .tags, .dueDate, .dueAllDay, .recurrenceFrequency,
             .recurrenceInterval, .titleKey, .tagKeys, .searchText, .uid, .resourceName, .calendarData:
            return true
        default:
            return false
        }
    }

    /// The columns every task query selects, in row order.
    public static let selected = allCases.filter(\.isSelected)
    /// The columns a state write sets, in bind order.
    public static let state = allCases.filter(\.isState)

    /// The columns `copy` writes from a `StoredTask`: every one but `changeSeq`, which the
    /// destination numbers (the id, as the first of them).
    public static let copied = allCases.filter { $0 != .changeSeq }

    /// `selected`'s names, comma-separated: the select list of every task query.
    public static let selectList = selected.map(\.name).joined(separator: ", ")
    /// `state`'s names, comma-separated.
    public static let stateList = state.map(\.name).joined(separator: ", ")
    /// `copied`'s names, comma-separated.
    public static let copiedList = copied.map(\.name).joined(separator: ", ")

    /// One placeholder per column of `columns`, numbered from `first`, spelled by `placeholder`.
    public static func placeholders(_ columns: [TaskColumn], from first: Int,
                                    _ placeholder: (Int, TaskColumn) -> String) -> String {
        columns.enumerated().map { placeholder(first + $0.offset, $0.element) }.joined(separator: ", ")
    }
}

/// A value as a backend stores it.
public enum StoredValue: Equatable, Sendable {
    case text(String?)
    case integer(Int64?)
    case boolean(Bool)

    /// The value as PostgreSQL text input (nil for NULL).
    public var postgresText: String? {
        switch self {
        case .text(let text): return text
        case .integer(let number): return number.map { String($0) }
        case .boolean(let flag): return flag ? "true" : "false"
        }
    }
}

extension TaskState {
    /// What `column` (a state column) stores for this state.
    public func storedValue(_ column: TaskColumn) -> StoredValue {
        switch column {
        case .title: return .text(title)
        case .titleKey: return .text(titleKey)
        case .description: return .text(description)
        case .completed: return .boolean(completed)
        case .priority: return .integer(priority.rawValue)
        case .tags: return .text(tagsJSON)
        case .tagKeys: return .text(tagKeys)
        case .searchText: return .text(searchText)
        case .dueDate: return .integer(dueDate?.milliseconds)
        case .dueAllDay: return .boolean(dueDate?.isAllDay ?? false)
        case .recurrenceFrequency: return .integer(recurrence?.frequency.rawValue)
        case .recurrenceInterval: return .integer(recurrence?.interval)
        case .uid: return .text(uid)
        case .resourceName: return .text(resourceName)
        case .calendarData: return .text(calendarData)
        case .id, .userID, .createdAt, .updatedAt, .completedAt, .nextTaskID, .version, .changeSeq:
            preconditionFailure("\(column.name) is not a state column")
        }
    }

    /// The state columns' values, in `TaskColumn.state` order, as PostgreSQL text parameters.
    public var postgresParameters: [String?] { TaskColumn.state.map { storedValue($0).postgresText } }

    /// The state columns whose stored values differ from `other`'s, in `TaskColumn.state`
    /// order: what an update has to write (an index on a column left out is not touched).
    public func changedColumns(since other: TaskState) -> [TaskColumn] {
        TaskColumn.state.filter { storedValue($0) != other.storedValue($0) }
    }
}

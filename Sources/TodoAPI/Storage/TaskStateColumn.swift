/// The columns a task's writable state is stored in, in one order. Both backends' inserts,
/// updates and imports are written from this table: a state column is added here and in the
/// schemas, and nowhere else lists them.
enum TaskStateColumn: CaseIterable {
    case title, titleKey, description, completed, priority, tags, tagKeys, searchText
    case dueDate, dueAllDay, recurrenceFrequency, recurrenceInterval

    /// The column's name in both schemas.
    var name: String {
        switch self {
        case .title: return "title"
        case .titleKey: return "title_key"
        case .description: return "description"
        case .completed: return "completed"
        case .priority: return "priority"
        case .tags: return "tags"
        case .tagKeys: return "tag_keys"
        case .searchText: return "search_text"
        case .dueDate: return "due_date"
        case .dueAllDay: return "due_all_day"
        case .recurrenceFrequency: return "recurrence_frequency"
        case .recurrenceInterval: return "recurrence_interval"
        }
    }

    /// Its PostgreSQL type: every parameter is sent as text and cast to it.
    var postgresType: String {
        switch self {
        case .title, .titleKey, .description, .tags, .tagKeys, .searchText: return "text"
        case .completed, .dueAllDay: return "boolean"
        case .priority, .recurrenceFrequency, .recurrenceInterval: return "smallint"
        case .dueDate: return "bigint"
        }
    }

    /// The names, comma-separated, in table order.
    static let names = allCases.map(\.name).joined(separator: ", ")

    /// `count` placeholders from `first` on, each spelled by `placeholder(number, column)`.
    static func placeholders(from first: Int, _ placeholder: (Int, TaskStateColumn) -> String) -> String {
        allCases.enumerated().map { placeholder(first + $0.offset, $0.element) }.joined(separator: ", ")
    }
}

/// A value as a backend stores it.
enum StoredValue: Equatable {
    case text(String?)
    case integer(Int64?)
    case boolean(Bool)

    /// The value as PostgreSQL text input (nil for NULL).
    var postgresText: String? {
        switch self {
        case .text(let text): return text
        case .integer(let number): return number.map { String($0) }
        case .boolean(let flag): return flag ? "true" : "false"
        }
    }
}

extension TaskState {
    /// What `column` stores for this state.
    func storedValue(_ column: TaskStateColumn) -> StoredValue {
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
        }
    }

    /// The values of every state column, in table order, as PostgreSQL text parameters.
    var postgresParameters: [String?] { TaskStateColumn.allCases.map { storedValue($0).postgresText } }
}

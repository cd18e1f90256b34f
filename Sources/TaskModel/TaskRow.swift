/// Where one task row's columns are read from: a backend's current statement row or result row,
/// or a copied row (`StoredTask`). Only `TaskColumn.selected` columns are asked for.
public protocol TaskRowSource {
    /// Whether `column` is NULL.
    func isNull(_ column: TaskColumn) -> Bool
    /// The integer in `column` (a boolean as 0 or 1); 0 when NULL.
    func integer(_ column: TaskColumn) -> Int64
    /// Calls `body` with the text in `column` as UTF-8 (empty when NULL).
    func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result
}

/// One task row, read in place from whatever holds it.
///
/// Valid only inside the callback that receives it: a backend's source hands out its own
/// buffers, so rendering a list copies each string once, into the response.
public struct TaskRow {
    let source: any TaskRowSource

    /// The row `source` holds.
    public init(_ source: any TaskRowSource) {
        self.source = source
    }

    /// Never reused, even after the task is deleted.
    public var id: Int64 { source.integer(.id) }
    /// Whether the task is done.
    public var completed: Bool { source.integer(.completed) != 0 }
    /// Creation time, milliseconds since the epoch.
    public var createdAt: Int64 { source.integer(.createdAt) }
    /// Last change, milliseconds since the epoch; strictly increases with each change.
    public var updatedAt: Int64 { source.integer(.updatedAt) }
    /// Whether the description is NULL.
    public var hasDescription: Bool { !source.isNull(.description) }
    /// The priority.
    public var priority: TaskPriority { TaskPriority(rawValue: source.integer(.priority)) ?? .default }
    /// The due date, if any.
    public var dueDate: TaskDueDate? {
        optional(.dueDate).map { TaskDueDate(milliseconds: $0, isAllDay: source.integer(.dueAllDay) != 0) }
    }
    /// The recurrence, if any.
    public var recurrence: TaskRecurrence? {
        guard let code = optional(.recurrenceFrequency), let frequency = TaskRecurrence.Frequency(rawValue: code) else { return nil }
        return TaskRecurrence(frequency: frequency, interval: optional(.recurrenceInterval) ?? 1)
    }
    /// When the task last became completed, if it is completed.
    public var completedAt: Int64? { optional(.completedAt) }
    /// The occurrence created when this recurring task was completed.
    public var nextTaskID: Int64? { optional(.nextTaskID) }
    /// +1 on every write; the ETag.
    public var version: Int64 { source.integer(.version) }

    /// Calls `body` with the owner's id as UTF-8.
    public func withUserID<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.userID, body) }
    /// Calls `body` with the title as UTF-8.
    public func withTitle<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.title, body) }
    /// Calls `body` with the description as UTF-8 (empty when NULL; check `hasDescription`).
    public func withDescription<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.description, body) }
    /// Calls `body` with the tags as the JSON array text the API returns.
    public func withTagsJSON<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.tags, body) }
    /// Calls `body` with the iCalendar UID as UTF-8.
    public func withUID<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.uid, body) }
    /// Calls `body` with the CalDAV resource name as UTF-8.
    public func withResourceName<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.resourceName, body) }
    /// Whether CalDAV clients left iCalendar text to keep (`TaskState.calendarData`).
    public var hasCalendarData: Bool { !source.isNull(.calendarData) }
    /// Calls `body` with the kept iCalendar text as UTF-8 (empty when NULL).
    public func withCalendarData<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { source.withUTF8(.calendarData, body) }

    private func optional(_ column: TaskColumn) -> Int64? {
        source.isNull(column) ? nil : source.integer(column)
    }
}

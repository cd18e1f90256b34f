/// What a PUT or a merge PATCH asks to change: each field absent (nil) or given. A given
/// nullable field is `.some(nil)` when the client sent `null`; `priority` and `tags` sent as
/// `null` arrive as their defaults.
public struct TaskChanges: Sendable, Equatable {
    /// The new title.
    public var title: String?
    /// The new description; `.some(nil)` clears it.
    public var description: String??
    /// The new completion state.
    public var completed: Bool?
    /// The new priority.
    public var priority: TaskPriority?
    /// The new tags (the whole list).
    public var tags: [String]?
    /// The new due date; `.some(nil)` clears it.
    public var dueDate: TaskDueDate??
    /// The new recurrence (replaced whole); `.some(nil)` clears it.
    public var recurrence: TaskRecurrence??

    /// No change at all.
    public init() {}

    /// `state` with these changes applied.
    public func applied(to state: TaskState) -> TaskState {
        var result = state
        if let title { result.title = title }
        if let description { result.description = description }
        if let completed { result.completed = completed }
        if let priority { result.priority = priority }
        if let tags { result.tags = tags }
        if let dueDate { result.dueDate = dueDate }
        if let recurrence { result.recurrence = recurrence }
        return result
    }
}

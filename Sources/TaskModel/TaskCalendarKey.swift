/// The two other keys a task has besides its id, both unique among its owner's tasks
/// (Addendum v2.2): what CalDAV names a task by.
public enum TaskCalendarKey: Sendable, Equatable {
    /// The resource name in the calendar collection (`{name}` of `…/tasks/{name}`).
    case resourceName(String)
    /// The iCalendar UID.
    case uid(String)

    /// The column holding the key.
    public var column: TaskColumn {
        switch self {
        case .resourceName: return .resourceName
        case .uid: return .uid
        }
    }

    /// The key's value.
    public var value: String {
        switch self {
        case .resourceName(let name): return name
        case .uid(let uid): return uid
        }
    }
}

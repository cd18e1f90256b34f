/// The two other keys a task has besides its id, both unique among its owner's tasks
/// (Addendum v2.2): what CalDAV names a task by.
public enum TaskCalendarKey: Sendable, Equatable {
    /// The resource name in the calendar collection (`{name}` of `…/tasks/{name}`).
    case resourceName(String)
    /// The iCalendar UID.
    case uid(String)

    /// Which of the two keys, without its value.
    public enum Kind: Hashable, Sendable {
        case resourceName, uid
    }

    /// Which of the two keys this is.
    public var kind: Kind {
        switch self {
        case .resourceName: return .resourceName
        case .uid: return .uid
        }
    }

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

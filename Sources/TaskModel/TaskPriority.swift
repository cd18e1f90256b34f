/// How important a task is. Stored as its rank, so sorting by priority is sorting by number.
public enum TaskPriority: Int64, Sendable, CaseIterable, Comparable {
    case low = 0
    case medium = 1
    case high = 2

    /// The default for a new task, and what `null` resets to.
    public static let `default` = TaskPriority.medium

    /// The name the API uses: `low`, `medium` or `high`.
    public var name: String {
        switch self {
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        }
    }

    /// The priority named `name`, exactly (lowercase).
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (lhs: TaskPriority, rhs: TaskPriority) -> Bool { lhs.rawValue < rhs.rawValue }
}

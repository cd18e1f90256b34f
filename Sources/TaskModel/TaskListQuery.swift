/// The options of `GET /api/{user_id}/tasks`: which of a user's tasks, in what order, which
/// page. (The application parses them from the query string.)
public struct TaskListQuery: Sendable, Equatable {
    /// Which tasks to include.
    public enum Status: String, Sendable, CaseIterable { case all, pending, completed }
    /// The sort key; ties are always broken by id.
    public enum Sort: String, Sendable, CaseIterable {
        case created, updated, title
        case dueDate = "due_date"
        case priority
    }
    /// The sort direction.
    public enum Order: String, Sendable, CaseIterable { case asc, desc }

    /// Default page size.
    public static let defaultLimit = 100
    /// Largest page size.
    public static let maximumLimit = 1000
    /// The most search terms in `q`, and the most `tag` parameters.
    public static let maximumTerms = 10
    /// The longest `q`, in characters after trimming.
    public static let maximumSearchLength = 200

    /// Which tasks to include (default all).
    public var status: Status = .all
    /// Sort key (default created).
    public var sort: Sort = .created
    /// Direction (default asc).
    public var order: Order = .asc
    /// Page size, 1...1000 (default 100).
    public var limit = defaultLimit
    /// Rows to skip, >= 0 (default 0).
    public var offset: Int64 = 0
    /// `q`: lower-cased terms that must each occur in the title or the description.
    public var searchTerms: [String] = []
    /// `priority`: the priorities to include; empty means all.
    public var priorities: Set<TaskPriority> = []
    /// `tag`: tags the task must all have (compared lower-cased).
    public var tags: [String] = []
    /// `due_before`: due strictly before, milliseconds.
    public var dueBefore: Int64?
    /// `due_after`: due at or after, milliseconds.
    public var dueAfter: Int64?
    /// `has_due`: whether the task has a due date.
    public var hasDue: Bool?

    /// The default query.
    public init() {}

    /// What decides a list's SQL text (not its values): queries of one shape share statements.
    package struct Shape: Hashable {
        let status: Status
        let sort: Sort
        let order: Order
        let priorities: UInt8
        let hasDue: Bool?
        let dueBefore: Bool
        let dueAfter: Bool
        let tags: Int
        let terms: Int
    }

    /// This query's shape.
    package var shape: Shape {
        Shape(status: status, sort: sort, order: order,
              priorities: priorities.reduce(0) { $0 | (1 << UInt8($1.rawValue)) }, hasDue: hasDue,
              dueBefore: dueBefore != nil, dueAfter: dueAfter != nil, tags: tags.count, terms: searchTerms.count)
    }

    /// Whether the list statement binds values beyond user, limit and offset.
    package var hasFilterParameters: Bool { dueBefore != nil || dueAfter != nil || !tags.isEmpty || !searchTerms.isEmpty }


}

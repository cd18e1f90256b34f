import JSON

/// Everything about a task a client can write: what a create sets and an update changes.
public struct TaskState: Sendable, Equatable {
    /// The trimmed title, 1...200 characters.
    public var title: String
    /// The description, or nil.
    public var description: String?
    /// Whether the task is done.
    public var completed: Bool = false
    /// Its priority (default medium).
    public var priority: TaskPriority = .default
    /// Its tags, trimmed, in the order sent; unique ignoring case.
    public var tags: [String] = []
    /// When it is due (an instant or an all-day date); nil for no due date.
    public var dueDate: TaskDueDate?
    /// How it repeats; non-nil only with a due date.
    public var recurrence: TaskRecurrence?
    /// The iCalendar UID (Addendum v2.2); empty until the task is created, when one is made
    /// (`identified()`). Unique among the owner's tasks; no write changes it.
    public var uid = ""
    /// The CalDAV resource name (`{uid}.ics` unless a CalDAV client chose another); empty until
    /// the task is created. Unique among the owner's tasks; no write changes it.
    public var resourceName = ""
    /// What CalDAV clients wrote that the task model has no field for (alarms, start dates,
    /// X- properties, time zones, their own spelling of a priority or due time), as iCalendar
    /// text (`TaskCalendarData`); nil when there is nothing. JSON writes keep it.
    public var calendarData: String?
    /// When a CalDAV client says the task was completed (its VTODO's `COMPLETED`): a write that
    /// leaves the task completed stores this as `completed_at` instead of the write's time. Not
    /// a column of its own (a state read from a row has nil); the JSON API never sets it.
    public var reportedCompletedAt: Int64?

    /// A task titled `title` with every other field at its default.
    public init(title: String) {
        self.title = title
    }

    /// This state with its iCalendar identity: a new UID (a random UUID) and resource name
    /// `{uid}.ics` when it has none. What every create stores.
    public func identified() -> TaskState {
        guard uid.isEmpty || resourceName.isEmpty else { return self }
        var state = self
        if state.uid.isEmpty { state.uid = TaskUID.make() }
        if state.resourceName.isEmpty { state.resourceName = state.uid + ".ics" }
        return state
    }

    /// The title lower-cased (full Unicode mapping): the key `sort=title` orders by, in both backends.
    package var titleKey: String { title.lowercased() }

    /// The tags as the JSON array the API returns, stored as such so a row renders without parsing.
    package var tagsJSON: String {
        var writer = JSONWriter(capacity: 16 + tags.count * 16)
        writer.raw("[")
        for (index, tag) in tags.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(tag)
        }
        writer.raw("]")
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The tags lower-cased between unit separators (`\u{1F}a\u{1F}b\u{1F}`): a task has tag `t`
    /// when this contains `\u{1F}t\u{1F}` (tags hold no control characters).
    package var tagKeys: String { TaskTags.keyList(tags) }

    /// Title and description lower-cased, on two lines: what `q` searches. A search term has no
    /// whitespace, so no match spans the two.
    package var searchText: String { titleKey + "\n" + (description?.lowercased() ?? "") }

    /// The rule of the task model this state breaks, if any: a recurring task repeats from its
    /// due date, so a recurrence needs one (checked after every write's changes are applied).
    public var ruleViolation: TaskRuleViolation? {
        if recurrence != nil, dueDate == nil {
            return TaskRuleViolation(message: "recurrence needs a due_date: a recurring task repeats from its due date.")
        }
        return nil
    }
}

/// A rule of the task model that a write would break (the API answers it 400).
public struct TaskRuleViolation: Error, Sendable, Equatable {
    /// What is wrong, naming the fields, for the client.
    public let message: String
}

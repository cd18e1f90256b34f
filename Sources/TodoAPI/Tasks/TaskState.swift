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

    /// A task titled `title` with every other field at its default.
    public init(title: String) {
        self.title = title
    }

    /// The title lower-cased (full Unicode mapping): the key `sort=title` orders by, in both backends.
    var titleKey: String { title.lowercased() }

    /// The tags as the JSON array the API returns, stored as such so a row renders without parsing.
    var tagsJSON: String {
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
    var tagKeys: String { TaskTags.keyList(tags) }

    /// Title and description lower-cased, on two lines: what `q` searches. A search term has no
    /// whitespace, so no match spans the two.
    var searchText: String { titleKey + "\n" + (description?.lowercased() ?? "") }
}

/// Tag rules and the forms tags are stored and searched in.
public enum TaskTags {
    /// The most tags a task has.
    public static let maximumCount = 10
    /// The longest tag, in characters, after trimming.
    public static let maximumLength = 50
    /// What separates tag keys in the stored key list.
    static let separator = "\u{1F}"

    /// The search key of one tag.
    static func key(_ tag: String) -> String { tag.lowercased() }

    /// `separator` + each key + `separator`.
    static func keyList(_ tags: [String]) -> String {
        separator + tags.map { key($0) + separator }.joined()
    }

    /// The needle that finds `tag` in a key list.
    static func needle(_ tag: String) -> String { separator + key(tag) + separator }

    /// Whether `text` has a control character (C0, DEL or C1).
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) }
    }
}

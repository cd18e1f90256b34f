/// Tag rules and the forms tags are stored and searched in.
public enum TaskTags {
    /// The most tags a task has.
    public static let maximumCount = 10
    /// The longest tag, in characters, after trimming.
    public static let maximumLength = 50
    /// What separates tag keys in the stored key list.
    package static let separator = "\u{1F}"

    /// The search key of one tag.
    package static func key(_ tag: String) -> String { tag.lowercased() }

    /// `separator` + each key + `separator`.
    package static func keyList(_ tags: [String]) -> String {
        separator + tags.map { key($0) + separator }.joined()
    }

    /// Whether `text` has a control character (C0, DEL or C1).
    public static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0x9F) }
    }
}

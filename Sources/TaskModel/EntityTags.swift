import ASCII

/// `If-Match` and `If-None-Match` (RFC 9110 §13.1) against a task's ETag, `"<version>"`.
public enum EntityTags {
    /// The ETag of a task at `version`: a strong tag.
    public static func tag(version: Int64) -> String { "\"\(version)\"" }

    /// One parsed entity tag: its opaque part and whether it is weak.
    struct Tag: Equatable {
        let opaque: Substring
        let weak: Bool
    }

    /// `If-Match`: `*` matches any current task; otherwise a listed strong tag must equal the
    /// task's (weak tags never match). A value that is not a list of entity tags matches nothing.
    public static func ifMatch(_ header: String, version: Int64) -> Bool {
        let value = header[...].trimmingASCIISpaces
        if value == "*" { return true }
        guard let tags = list(value) else { return false }
        let current = tag(version: version)
        return tags.contains { !$0.weak && "\"\($0.opaque)\"" == current }
    }

    /// The task versions an `If-Match` value accepts: nil for `*` (any), else the versions of its
    /// strong tags (empty when it lists none, or is not a list: nothing matches).
    public static func strongVersions(_ header: String) -> [Int64]? {
        let value = header[...].trimmingASCIISpaces
        if value == "*" { return nil }
        return (list(value) ?? []).compactMap { $0.weak ? nil : ASCIIDecimal.parse($0.opaque.utf8) }
    }

    /// `If-None-Match` on a read: true when the header lists the task's tag (weak comparison)
    /// or is `*`, that is, when the answer is 304.
    public static func ifNoneMatch(_ header: String, version: Int64) -> Bool {
        let value = header[...].trimmingASCIISpaces
        if value == "*" { return true }
        guard let tags = list(value) else { return false }
        let current = tag(version: version)
        return tags.contains { "\"\($0.opaque)\"" == current }
    }

    /// The comma-separated entity tags of `value`; nil when any member is not one.
    static func list(_ value: Substring) -> [Tag]? {
        var tags: [Tag] = []
        for member in value.split(separator: ",", omittingEmptySubsequences: true) {
            var text = member.trimmingASCIISpaces
            if text.isEmpty { continue }
            var weak = false
            if text.hasPrefix("W/") {
                weak = true
                text = text.dropFirst(2)
            }
            // entity-tag = [ W/ ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
            guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
            let opaque = text.dropFirst().dropLast()
            guard opaque.unicodeScalars.allSatisfy({ $0.value == 0x21 || ($0.value >= 0x23 && $0.value != 0x7F) }) else { return nil }
            tags.append(Tag(opaque: opaque, weak: weak))
        }
        return tags.isEmpty ? nil : tags
    }
}

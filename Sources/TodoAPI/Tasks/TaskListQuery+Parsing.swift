import ASCII
import TaskModel

/// The list options parsed strictly from the query string: known parameters with bad, empty or
/// repeated values are 400 `invalid_query`; unknown parameters are ignored (contract v2 §0).
extension TaskListQuery {
    /// Parses `rawQuery` (still percent-encoded).
    public init(rawQuery: [UInt8]) throws(APIError) {
        self.init()
        guard !rawQuery.isEmpty else { return }
        var seen: Set<String> = []
        for pair in rawQuery.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let nameBytes = PercentDecoding.decode(parts[0], plusAsSpace: true) else {
                throw APIError.invalidQuery("The query string has a malformed percent-escape.")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard Self.knownParameters.contains(name) else { continue }
            guard let valueBytes = PercentDecoding.decode(parts.count > 1 ? parts[1] : [], plusAsSpace: true) else {
                throw APIError.invalidQuery("The query string has a malformed percent-escape.")
            }
            guard String(validating: valueBytes, as: UTF8.self) != nil else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" is not valid UTF-8.")
            }
            let value = String(decoding: valueBytes, as: UTF8.self)
            guard parts.count == 2, !value.isEmpty else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" needs a value.")
            }
            guard seen.insert(name).inserted || name == "tag" else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" is given more than once.")
            }
            // Contract §11: no backend can search for U+0000 (PostgreSQL's text cannot hold it).
            guard !value.utf8.contains(0) else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" must not contain U+0000.")
            }
            try apply(name, value)
        }
    }

    /// The parameters this endpoint knows; any other is ignored.
    static let knownParameters: Set<String> = [
        "status", "sort", "order", "limit", "offset", "q", "priority", "tag", "due_before", "due_after", "has_due",
    ]

    private mutating func apply(_ name: String, _ value: String) throws(APIError) {
        switch name {
        case "status": status = try Self.choice(value, name)
        case "sort": sort = try Self.choice(value, name)
        case "order": order = try Self.choice(value, name)
        case "limit":
            guard let number = Self.integer(value), number >= 1, number <= Int64(Self.maximumLimit) else {
                throw APIError.invalidQuery("limit must be an integer from 1 to \(Self.maximumLimit).")
            }
            limit = Int(number)
        case "offset":
            guard let number = Self.integer(value), number >= 0 else {
                throw APIError.invalidQuery("offset must be an integer of 0 or more.")
            }
            offset = number
        case "q":
            let text = TaskInput.trimmingWhitespace(value)
            let length = text.unicodeScalars.count
            guard length >= 1, length <= Self.maximumSearchLength else {
                throw APIError.invalidQuery("q must be 1 to \(Self.maximumSearchLength) characters after trimming whitespace.")
            }
            let terms = text.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }).map { String($0).lowercased() }
            guard terms.count <= Self.maximumTerms else {
                throw APIError.invalidQuery("q has at most \(Self.maximumTerms) terms.")
            }
            searchTerms = terms
        case "priority":
            var priorities: Set<TaskPriority> = []
            for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let priority = TaskPriority(name: String(item)) else {
                    throw APIError.invalidQuery("priority must be a comma-separated list of low, medium and high.")
                }
                priorities.insert(priority)
            }
            self.priorities = priorities
        case "tag":
            guard tags.count < Self.maximumTerms else {
                throw APIError.invalidQuery("tag can be given at most \(Self.maximumTerms) times.")
            }
            let tag = TaskInput.trimmingWhitespace(value)
            guard !tag.isEmpty, tag.unicodeScalars.count <= TaskTags.maximumLength, !TaskTags.hasControlCharacter(tag) else {
                throw APIError.invalidQuery("tag must be 1 to \(TaskTags.maximumLength) characters without control characters.")
            }
            tags.append(TaskTags.key(tag))
        case "due_before", "due_after":
            // Contract §10: a date means that day's 00:00:00Z, the instant an all-day task sorts at.
            guard let instant = TaskDueDate.parse(value.utf8)?.milliseconds else {
                throw APIError.invalidQuery("\(name) must be a date YYYY-MM-DD (its 00:00:00Z) or an RFC 3339 date-time "
                    + "with seconds and an offset, e.g. 2026-12-24 or 2026-12-24T00:00:00Z.")
            }
            if name == "due_before" { dueBefore = instant } else { dueAfter = instant }
        default: // "has_due"
            switch value {
            case "true": hasDue = true
            case "false": hasDue = false
            default: throw APIError.invalidQuery("has_due must be true or false.")
            }
        }
    }

    private static func choice<Value: RawRepresentable & CaseIterable>(_ value: String, _ name: String) throws(APIError) -> Value
    where Value.RawValue == String {
        guard let parsed = Value(rawValue: value) else {
            let options = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError.invalidQuery("\(name) must be one of \(options).")
        }
        return parsed
    }

    /// A plain decimal integer (optional leading `-`), or nil.
    private static func integer(_ text: String) -> Int64? {
        ASCIIDecimal.parseSigned(text.utf8)
    }}

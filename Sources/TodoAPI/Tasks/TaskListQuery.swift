import ASCII

/// The options of `GET /api/{user_id}/tasks`, parsed strictly from the query string.
public struct TaskListQuery: Sendable, Equatable {
    /// Which tasks to include.
    public enum Status: String, Sendable, CaseIterable { case all, pending, completed }
    /// The sort key; ties are always broken by id.
    public enum Sort: String, Sendable, CaseIterable { case created, updated, title }
    /// The sort direction.
    public enum Order: String, Sendable, CaseIterable { case asc, desc }

    /// Default page size.
    public static let defaultLimit = 100
    /// Largest page size.
    public static let maximumLimit = 1000

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

    /// The default query.
    public init() {}

    /// Parses `rawQuery` (still percent-encoded). Unknown, repeated or empty parameters are errors,
    /// and out-of-range numbers are rejected, never clamped.
    public init(rawQuery: [UInt8]) throws(APIError) {
        guard !rawQuery.isEmpty else { return }
        var seen: Set<String> = []
        for pair in rawQuery.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let nameBytes = PercentDecoding.decode(parts[0], plusAsSpace: true),
                  let valueBytes = PercentDecoding.decode(parts.count > 1 ? parts[1] : [], plusAsSpace: true) else {
                throw APIError.invalidQuery("The query string has a malformed percent-escape.")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self)
            guard parts.count == 2, !value.isEmpty else {
                throw APIError.invalidQuery("Query parameter \"\(name.abbreviatedForMessage)\" needs a value.")
            }
            guard seen.insert(name).inserted else {
                throw APIError.invalidQuery("Query parameter \"\(name.abbreviatedForMessage)\" is given more than once.")
            }
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
            default:
                throw APIError.invalidQuery("Unknown query parameter \"\(name.abbreviatedForMessage)\"; expected status, sort, order, limit or offset.")
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
    }
}

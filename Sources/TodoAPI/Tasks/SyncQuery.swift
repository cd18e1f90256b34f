import ASCII
import TaskModel

/// The query of `GET /api/{user_id}/tasks/changes`: `since` (a cursor), `limit` and `wait`
/// (contract §13); other parameters are ignored, a known one empty or repeated is 400 `invalid_query`.
struct SyncQuery {
    /// The most entries (tasks and deletions together) of one answer, and the default.
    static let maximumLimit = 1000

    /// The cursor to resume after; nil for everything.
    var since: String?
    /// Entries per answer, 1...1000.
    var limit = maximumLimit
    /// The longest `wait`, in seconds.
    static let maximumWait = 60
    /// Seconds to wait for a change when there is none after `since`, 0...60 (0: answer at once).
    var wait = 0

    init(rawQuery: [UInt8]) throws(APIError) {
        var seen: Set<String> = []
        for pair in rawQuery.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let nameBytes = PercentDecoding.decode(parts[0], plusAsSpace: true) else {
                throw APIError.invalidQuery("The query string has a malformed percent-escape.")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard name == "since" || name == "limit" || name == "wait" else { continue }
            guard let valueBytes = PercentDecoding.decode(parts.count > 1 ? parts[1] : [], plusAsSpace: true),
                  parts.count == 2, !valueBytes.isEmpty else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" needs a value.")
            }
            guard seen.insert(name).inserted else {
                throw APIError.invalidQuery("Query parameter \"\(name)\" is given more than once.")
            }
            if name == "since" {
                since = String(decoding: valueBytes, as: UTF8.self)
            } else if name == "wait" {
                guard let number = ASCIIDecimal.parse(valueBytes), number >= 0, number <= Int64(Self.maximumWait) else {
                    throw APIError.invalidQuery("wait must be an integer from 0 to \(Self.maximumWait) (seconds).")
                }
                wait = Int(number)
            } else {
                guard let number = ASCIIDecimal.parse(valueBytes), number >= 1, number <= Int64(Self.maximumLimit) else {
                    throw APIError.invalidQuery("limit must be an integer from 1 to \(Self.maximumLimit).")
                }
                limit = Int(number)
            }
        }
    }
}

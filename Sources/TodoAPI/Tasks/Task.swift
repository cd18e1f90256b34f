/// One user's task, as stored.
public struct TodoTask: Sendable, Equatable {
    /// Never reused, even after the task is deleted.
    public let id: Int64
    /// The owner: the `sub` of the token that created it.
    public let userID: String
    /// Trimmed, 1...200 code points.
    public let title: String
    /// Up to 1000 code points, or nil.
    public let description: String?
    /// Whether the task is done.
    public let completed: Bool
    /// Creation time, milliseconds since the epoch.
    public let createdAt: Int64
    /// Last change, milliseconds since the epoch; strictly increases with each change.
    public let updatedAt: Int64

    /// Creates a task value.
    public init(id: Int64, userID: String, title: String, description: String?, completed: Bool,
                createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.userID = userID
        self.title = title
        self.description = description
        self.completed = completed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The fields a client may set on create or replace, already validated.
public struct TaskDraft: Sendable, Equatable {
    /// The trimmed title.
    public var title: String
    /// The description as sent, or nil.
    public var description: String?
    /// The completion state, when the client gave one.
    public var completed: Bool?
}

/// Task ids in paths: canonical positive decimal up to 2^63 - 1.
enum TaskID {
    /// The id spelled by `bytes`, or nil for `0`, `007`, `+7`, `-1`, `7a` or anything too large.
    static func parse(_ bytes: [UInt8]) -> Int64? {
        guard let first = bytes.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"), bytes.count <= 19 else {
            return nil
        }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

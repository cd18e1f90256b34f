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

/// When a task is due: an instant, or a whole calendar day with no time and no zone (an
/// all-day due date, contract §10).
public struct TaskDueDate: Sendable, Hashable {
    /// The instant, milliseconds since the epoch. For an all-day date, that day's
    /// `00:00:00Z`: the instant sorting and `due_before` / `due_after` compare it as.
    public let milliseconds: Int64
    /// Whether this is a calendar date (`YYYY-MM-DD`) rather than a date-time.
    public let isAllDay: Bool

    /// A due date as stored: `milliseconds` and whether it is all-day. An all-day value is
    /// kept on its day's midnight, whatever the stored time of day.
    public init(milliseconds: Int64, isAllDay: Bool) {
        self.milliseconds = isAllDay ? milliseconds - milliseconds.modulo(Timestamp.millisecondsPerDay) : milliseconds
        self.isAllDay = isAllDay
    }

    /// The date-time `milliseconds`.
    public static func instant(_ milliseconds: Int64) -> TaskDueDate {
        TaskDueDate(milliseconds: milliseconds, isAllDay: false)
    }

    /// The all-day date of the day that starts (UTC) at `milliseconds`.
    public static func day(startingAt milliseconds: Int64) -> TaskDueDate {
        TaskDueDate(milliseconds: milliseconds, isAllDay: true)
    }

    /// Parses what the API accepts: a calendar date `YYYY-MM-DD` (all-day) or an RFC 3339
    /// date-time with seconds and an offset (see `Timestamp.parse`); nil for anything else.
    public static func parse(_ text: some Collection<UInt8>) -> TaskDueDate? {
        if let day = Timestamp.parseDate(text) { return .day(startingAt: day) }
        return Timestamp.parse(text).map(instant)
    }

    /// Appends the API's form: `YYYY-MM-DD` for an all-day date, else the UTC date-time
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    public func append(to output: inout [UInt8]) {
        if isAllDay {
            Timestamp.appendDate(milliseconds: milliseconds, to: &output)
        } else {
            Timestamp.append(milliseconds: milliseconds, to: &output)
        }
    }

    /// Writes the API's form over the start of `text` (at least `Timestamp.byteCount` bytes)
    /// and returns its length.
    public func write(into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        isAllDay ? Timestamp.writeDate(milliseconds: milliseconds, into: text) : Timestamp.write(milliseconds: milliseconds, into: text)
    }

    /// The API's form as a string.
    public var text: String {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

import Clocks

/// RFC 3339 UTC timestamps with milliseconds, e.g. `2026-11-22T10:00:00.123Z`.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func format(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The length of a timestamp's text.
    public static let byteCount = 24

    /// Appends the 24-byte timestamp to `output` in one fixed-width write.
    public static func append(milliseconds: Int64, to output: inout [UInt8]) {
        append(byteCount, to: &output) { write(milliseconds: milliseconds, into: $0) }
    }

    /// Appends `count` bytes to `output` and lets `write` fill them in place.
    private static func append(_ count: Int, to output: inout [UInt8], _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: count))
        output.withUnsafeMutableBufferPointer { buffer in _ = write(UnsafeMutableBufferPointer(rebasing: buffer[start...])) }
    }

    /// Writes the timestamp over the first 24 bytes of `text` (which has at least that many) and
    /// returns 24.
    public static func write(milliseconds: Int64, into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(text.count >= byteCount)
        let millis = Int(milliseconds.modulo(1000))
        let (days, secondsOfDay) = CivilDate.split(secondsSinceEpoch: (milliseconds - Int64(millis)) / 1000)
        putDate(daysSinceEpoch: days, in: text)
        text[10] = UInt8(ascii: "T")
        put(secondsOfDay / 3600, width: 2, at: 11, in: text)
        text[13] = UInt8(ascii: ":")
        put(secondsOfDay / 60 % 60, width: 2, at: 14, in: text)
        text[16] = UInt8(ascii: ":")
        put(secondsOfDay % 60, width: 2, at: 17, in: text)
        text[19] = UInt8(ascii: ".")
        put(millis, width: 3, at: 20, in: text)
        text[23] = UInt8(ascii: "Z")
        return byteCount
    }

    /// The first instant the API accepts for a due date: 1970-01-01T00:00:00.000Z.
    public static let earliest: Int64 = 0
    /// The last instant the API accepts for a due date: 9999-12-31T23:59:59.999Z.
    public static let latest: Int64 = 253_402_300_799_999

    /// Parses an RFC 3339 date-time with seconds, an optional fraction (1–9 digits, truncated to
    /// the millisecond) and `Z` or `±hh:mm`, years 1970...9999, as milliseconds since the epoch
    /// (UTC). Nil for anything else: a date alone, no seconds, no offset, a leap second, an
    /// impossible date, or an instant outside 1970...9999 once in UTC.
    public static func parse(_ text: some Collection<UInt8>) -> Int64? {
        let bytes = Array(text)
        guard bytes.count >= 20, bytes.count <= 35 else { return nil }
        func number(_ start: Int, _ width: Int) -> Int? { digits(bytes, start, width) }
        guard let year = number(0, 4), bytes[4] == UInt8(ascii: "-"), let month = number(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = number(8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              let hour = number(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(14, 2),
              bytes[16] == UInt8(ascii: ":"), let second = number(17, 2) else { return nil }
        guard year >= 1970, year <= 9999, month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        var index = 19
        var milliseconds = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            let digits = index - start
            guard digits >= 1, digits <= 9 else { return nil }
            for position in 0..<3 {
                milliseconds = milliseconds * 10 + (position < digits ? Int(bytes[start + position] - UInt8(ascii: "0")) : 0)
            }
        }
        guard index < bytes.count else { return nil }
        var offsetMinutes = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, let offsetHour = number(index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetMinute = number(index + 4, 2), offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let days = Int64(CivilDate.daysSinceEpoch(year: year, month: month, day: day))
        let local = ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60 + Int64(second)
        let utc = (local - Int64(offsetMinutes) * 60) * 1000 + Int64(milliseconds)
        guard utc >= earliest, utc <= latest else { return nil }
        return utc
    }

    /// Appends the calendar date (UTC) of `milliseconds` as the 10 bytes `YYYY-MM-DD`.
    public static func appendDate(milliseconds: Int64, to output: inout [UInt8]) {
        append(10, to: &output) { writeDate(milliseconds: milliseconds, into: $0) }
    }

    /// Writes the calendar date (UTC) of `milliseconds` over the first 10 bytes of `text` and
    /// returns 10.
    public static func writeDate(milliseconds: Int64, into text: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(text.count >= 10)
        putDate(daysSinceEpoch: Int((milliseconds - milliseconds.modulo(millisecondsPerDay)) / millisecondsPerDay), in: text)
        return 10
    }

    /// Writes the calendar date of a day count as `YYYY-MM-DD` over the first 10 bytes of `text`.
    private static func putDate(daysSinceEpoch days: Int, in text: UnsafeMutableBufferPointer<UInt8>) {
        let (year, month, day) = CivilDate.civilDate(daysSinceEpoch: days)
        put(year, width: 4, at: 0, in: text)
        text[4] = UInt8(ascii: "-")
        put(month, width: 2, at: 5, in: text)
        text[7] = UInt8(ascii: "-")
        put(day, width: 2, at: 8, in: text)
    }

    /// Parses a calendar date `YYYY-MM-DD` exactly (years 1970...9999, a real date) as the
    /// milliseconds of that day's `00:00:00Z`; nil for anything else.
    public static func parseDate(_ text: some Collection<UInt8>) -> Int64? {
        let bytes = Array(text)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
              year >= 1970, year <= 9999, month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: year, month: month)
        else { return nil }
        return Int64(CivilDate.daysSinceEpoch(year: year, month: month, day: day)) * millisecondsPerDay
    }

    /// Milliseconds in a (UTC, leap-second-free) day.
    public static let millisecondsPerDay: Int64 = 86_400_000

    /// The decimal number in `bytes[start..<start + width]`, all ASCII digits; nil otherwise.
    private static func digits(_ bytes: [UInt8], _ start: Int, _ width: Int) -> Int? {
        var value = 0
        for index in start..<(start + width) {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Writes `value` as `width` decimal digits ending at `offset + width`.
    private static func put(_ value: Int, width: Int, at offset: Int, in text: UnsafeMutableBufferPointer<UInt8>) {
        var remaining = value
        var index = offset + width - 1
        while index >= offset {
            text[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
            remaining /= 10
            index -= 1
        }
    }
}

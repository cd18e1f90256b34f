/// RFC 3339 UTC timestamps with milliseconds, e.g. `2026-11-22T10:00:00.123Z`.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func format(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the 24-byte timestamp to `output` in one fixed-width write.
    public static func append(milliseconds: Int64, to output: inout [UInt8]) {
        let millis = Int(milliseconds.modulo(1000))
        let totalSeconds = (milliseconds - Int64(millis)) / 1000
        let days = Int((totalSeconds - totalSeconds.modulo(86_400)) / 86_400)
        let secondsOfDay = Int(totalSeconds.modulo(86_400))
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let start = output.count
        output.append(contentsOf: "0000-00-00T00:00:00.000Z".utf8)
        output.withUnsafeMutableBufferPointer { buffer in
            let text = UnsafeMutableBufferPointer(rebasing: buffer[start...])
            put(year, width: 4, at: 0, in: text)
            put(month, width: 2, at: 5, in: text)
            put(day, width: 2, at: 8, in: text)
            put(secondsOfDay / 3600, width: 2, at: 11, in: text)
            put(secondsOfDay / 60 % 60, width: 2, at: 14, in: text)
            put(secondsOfDay % 60, width: 2, at: 17, in: text)
            put(millis, width: 3, at: 20, in: text)
        }
    }

    /// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count.
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
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

private extension Int64 {
    /// The mathematical (never negative) remainder.
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

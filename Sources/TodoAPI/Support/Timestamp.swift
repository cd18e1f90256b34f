/// RFC 3339 UTC timestamps with milliseconds, e.g. `2026-11-22T10:00:00.123Z`.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func format(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        append(milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the formatted timestamp (24 bytes) to `output`.
    public static func append(milliseconds: Int64, to output: inout [UInt8]) {
        let millis = Int(milliseconds.modulo(1000))
        let totalSeconds = (milliseconds - Int64(millis)) / 1000
        let days = Int((totalSeconds - totalSeconds.modulo(86_400)) / 86_400)
        let secondsOfDay = Int(totalSeconds.modulo(86_400))
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        appendDigits(year, width: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        appendDigits(secondsOfDay / 3600, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondsOfDay / 60 % 60, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(secondsOfDay % 60, width: 2, to: &output)
        output.append(UInt8(ascii: "."))
        appendDigits(millis, width: 3, to: &output)
        output.append(UInt8(ascii: "Z"))
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

    private static func appendDigits(_ value: Int, width: Int, to output: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var remaining = value
        while divisor > 0 {
            output.append(UInt8(remaining / divisor % 10) + UInt8(ascii: "0"))
            remaining %= divisor
            divisor /= 10
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

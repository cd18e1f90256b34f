/// Proleptic Gregorian calendar arithmetic on day counts since 1970-01-01: the one copy
/// behind the API's timestamps, recurrence and iCalendar's dates and time zones.
public enum CivilDate {
    /// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count.
    public static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
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

    /// Howard Hinnant's `days_from_civil`: the day count of a proleptic Gregorian date.
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Whether `year` has a February 29.
    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// The number of days of `month` (1...12) in `year`.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The day of the week of a day count: 0 Sunday … 6 Saturday (1970-01-01 was a Thursday).
    public static func weekday(daysSinceEpoch: Int) -> Int {
        let weekday = (daysSinceEpoch + 4) % 7
        return weekday < 0 ? weekday + 7 : weekday
    }
}

extension CivilDate {
    /// The seconds of a day.
    public static let secondsPerDay: Int64 = 86_400

    /// An instant in whole seconds since the epoch as its day count and the second of that day
    /// (0..<86,400): days round down, so an instant before 1970 counts from its own midnight.
    public static func split(secondsSinceEpoch seconds: Int64) -> (days: Int, secondOfDay: Int) {
        let secondOfDay = seconds.modulo(secondsPerDay)
        return (Int((seconds - secondOfDay) / secondsPerDay), Int(secondOfDay))
    }
}

extension Int64 {
    /// The mathematical (never negative) remainder.
    package func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }

    /// The quotient rounded towards negative infinity.
    package func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

import Clocks

/// A POSIX `TZ` rule (`CET-1CEST,M3.5.0,M10.5.0/3`), as the footer of a TZif file gives the
/// zone's offsets after its last listed transition.
public struct PosixZoneRule: ZoneOffsets, Equatable {
    /// One end of daylight time: a day rule and the local time of day (seconds) it happens at.
    public struct Change: Equatable, Sendable {
        /// How the day is named.
        public enum Day: Equatable, Sendable {
            /// `Jn`: day 1…365 of the year, February 29 never counted.
            case julianNoLeap(Int)
            /// `n`: day 0…365 of the year, February 29 counted.
            case zeroBased(Int)
            /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5 = last) of month `m`.
            case monthWeekDay(month: Int, week: Int, weekday: Int)
        }
        /// The day.
        public let day: Day
        /// Seconds after local midnight (may be negative or over a day, as TZif v3 allows).
        public let time: Int64
    }

    /// Standard time's offset, seconds east of UTC.
    public let standardOffset: Int64
    /// Daylight time's offset and its two changes, when the zone has daylight time.
    public let daylight: (offset: Int64, start: Change, end: Change)?

    public static func == (left: PosixZoneRule, right: PosixZoneRule) -> Bool {
        left.standardOffset == right.standardOffset && left.daylight?.offset == right.daylight?.offset
            && left.daylight?.start == right.daylight?.start && left.daylight?.end == right.daylight?.end
    }

    /// The rule spelled by `text`, nil when it is not one.
    public init?(_ text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.skipZoneName(), let standard = scanner.offset() else { return nil }
        standardOffset = -standard
        if scanner.atEnd {
            daylight = nil
            return
        }
        guard scanner.skipZoneName() else { return nil }
        var daylightOffset = standardOffset + 3600
        if let explicit = scanner.offset() { daylightOffset = -explicit }
        // Without rules, POSIX says the US rules of 2007: TZif footers always spell them out.
        guard scanner.take(","), let start = scanner.change(), scanner.take(","), let end = scanner.change(),
              scanner.atEnd else { return nil }
        daylight = (daylightOffset, start, end)
    }

    /// The offset at `utcSeconds`.
    public func offset(atUTC utcSeconds: Int64) -> Int64 {
        guard let daylight else { return standardOffset }
        let localDays = CivilDate.split(secondsSinceEpoch: utcSeconds + standardOffset).days
        let year = CivilDate.civilDate(daysSinceEpoch: localDays).year
        // The start happens in standard time, the end in daylight time.
        let start = Self.localSeconds(of: daylight.start, year: year) - standardOffset
        let end = Self.localSeconds(of: daylight.end, year: year) - daylight.offset
        let inDaylight = start < end ? (utcSeconds >= start && utcSeconds < end) : !(utcSeconds >= end && utcSeconds < start)
        return inDaylight ? daylight.offset : standardOffset
    }

    /// The wall-clock moment (seconds since the epoch, as if UTC) of `change` in `year`.
    static func localSeconds(of change: Change, year: Int) -> Int64 {
        let january1 = CivilDate.daysSinceEpoch(year: year, month: 1, day: 1)
        var days: Int
        switch change.day {
        case .julianNoLeap(let day):
            days = january1 + day - 1
            if CivilDate.isLeapYear(year), day >= 60 { days += 1 }
        case .zeroBased(let day):
            days = january1 + day
        case .monthWeekDay(let month, let week, let weekday):
            let first = CivilDate.daysSinceEpoch(year: year, month: month, day: 1)
            days = first + (weekday - CivilDate.weekday(daysSinceEpoch: first) + 7) % 7 + (week - 1) * 7
            let last = first + CivilDate.daysInMonth(year: year, month: month) - 1
            while days > last { days -= 7 }
        }
        return Int64(days) * 86_400 + change.time
    }

    /// A cursor over the rule's bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }

        /// `<...>` or three or more letters.
        mutating func skipZoneName() -> Bool {
            if take("<") {
                guard let close = bytes[index...].firstIndex(of: UInt8(ascii: ">")) else { return false }
                index = close + 1
                return true
            }
            let start = index
            while index < bytes.count, (bytes[index] | 0x20) >= 0x61, (bytes[index] | 0x20) <= 0x7A { index += 1 }
            return index - start >= 3
        }

        mutating func number() -> Int64? {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 4 { index += 1 }
            guard index > start else { return nil }
            return bytes[start..<index].reduce(0) { $0 * 10 + Int64($1 - 0x30) }
        }

        /// `[+-]hh[:mm[:ss]]` in seconds (POSIX's sign: positive west of Greenwich).
        mutating func offset() -> Int64? {
            let negative = take("-")
            if !negative { _ = take("+") }
            guard let hours = number() else { return nil }
            var seconds = hours * 3600
            if take(":") {
                guard let minutes = number() else { return nil }
                seconds += minutes * 60
                if take(":") {
                    guard let rest = number() else { return nil }
                    seconds += rest
                }
            }
            return negative ? -seconds : seconds
        }

        /// `date[/time]`, the time defaulting to 02:00.
        mutating func change() -> Change? {
            let day: Change.Day
            if take("M") {
                guard let month = number(), take("."), let week = number(), take("."), let weekday = number(),
                      (1...12).contains(month), (1...5).contains(week), (0...6).contains(weekday) else { return nil }
                day = .monthWeekDay(month: Int(month), week: Int(week), weekday: Int(weekday))
            } else if take("J") {
                guard let number = number(), (1...365).contains(number) else { return nil }
                day = .julianNoLeap(Int(number))
            } else {
                guard let number = number(), (0...365).contains(number) else { return nil }
                day = .zeroBased(Int(number))
            }
            var time: Int64 = 7200
            if take("/") {
                guard let explicit = offset(), abs(explicit) <= 167 * 3600 else { return nil }
                time = explicit
            }
            return Change(day: day, time: time)
        }
    }
}

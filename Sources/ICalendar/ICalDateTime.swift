import Clocks

/// A DATE or DATE-TIME value (RFC 5545 §3.3.4, §3.3.5): `20261208`, `20261208T090000Z`,
/// `20261208T090000` (floating, or local to the property's `TZID`).
public struct ICalDateTime: Equatable, Sendable {
    /// How the value names its moment.
    public enum Form: Equatable, Sendable {
        /// A whole day (`VALUE=DATE`).
        case date
        /// A UTC time (`Z`).
        case utc
        /// A wall-clock time with no zone.
        case floating
        /// A wall-clock time in the zone of this `TZID`.
        case zoned(String)
    }

    /// The form.
    public let form: Form
    /// The wall-clock (or UTC) moment, in seconds since the epoch read as UTC.
    public let localSeconds: Int64

    /// The value of `property` (DUE, DTSTART, COMPLETED, …), nil when it is not a DATE or
    /// DATE-TIME. A bare eight-digit value is a DATE even without `VALUE=DATE`, as clients send it.
    public init?(_ property: ICalProperty) {
        let bytes = Array(property.value.utf8)
        guard let date = Self.date(bytes, 0) else { return nil }
        if bytes.count == 8 {
            form = .date
            localSeconds = date * 86_400
            return
        }
        guard property.parameter("VALUE")?.asciiUppercased != "DATE", bytes.count == 15 || bytes.count == 16,
              bytes[8] == UInt8(ascii: "T"), let hour = Self.digits(bytes, 9, 2), let minute = Self.digits(bytes, 11, 2),
              let second = Self.digits(bytes, 13, 2), hour < 24, minute < 60, second <= 60 else { return nil }
        // A leap second is read as the last second of its minute.
        localSeconds = date * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        if bytes.count == 16 {
            guard bytes[15] == UInt8(ascii: "Z") else { return nil }
            form = .utc
        } else if let zone = property.parameter("TZID") {
            form = .zoned(zone)
        } else {
            form = .floating
        }
    }

    /// A value of `form` at `localSeconds`.
    public init(form: Form, localSeconds: Int64) {
        self.form = form
        self.localSeconds = localSeconds
    }

    /// The instant in seconds since the epoch: UTC as written, floating read as UTC, zoned
    /// through `zones` (nil when the zone is unknown there), a date at its UTC midnight.
    public func utcSeconds(zones: (String) -> (any ZoneOffsets)?) -> Int64? {
        switch form {
        case .date, .utc, .floating: return localSeconds
        case .zoned(let name): return zones(name)?.utcSeconds(local: localSeconds)
        }
    }

    /// The value as written: `YYYYMMDD` for a date, else `YYYYMMDDTHHMMSS` with a `Z` for UTC.
    public var text: String {
        var output: [UInt8] = []
        output.reserveCapacity(16)
        append(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `text`'s bytes to `output`.
    public func append(to output: inout [UInt8]) {
        let (days, time) = CivilDate.split(secondsSinceEpoch: localSeconds)
        let (year, month, day) = CivilDate.civilDate(daysSinceEpoch: days)
        guard (0...9999).contains(year) else {
            // Outside four digits (never a task's, only a strange input's): the year as it comes.
            output.append(contentsOf: String(year).utf8)
            Self.appendFixedWidth(month: month, day: day, time: time, form: form, to: &output, year: nil)
            return
        }
        Self.appendFixedWidth(month: month, day: day, time: time, form: form, to: &output, year: year)
    }

    /// Appends `[YYYY]MMDD[THHMMSS[Z]]` in one fixed-width write: called for every date of every
    /// task of a calendar report.
    private static func appendFixedWidth(month: Int, day: Int, time: Int, form: Form, to output: inout [UInt8], year: Int?) {
        let yearWidth = year == nil ? 0 : 4
        let count = yearWidth + 4 + (form == .date ? 0 : 7) + (form == .utc ? 1 : 0)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: count))
        output.withUnsafeMutableBufferPointer { buffer in
            var index = start
            func put(_ value: Int, _ width: Int) {
                var remaining = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(truncatingIfNeeded: remaining % 10) &+ 0x30
                    remaining /= 10
                }
                index += width
            }
            if let year { put(year, 4) }
            put(month, 2)
            put(day, 2)
            guard form != .date else { return }
            buffer[index] = UInt8(ascii: "T")
            index += 1
            put(time / 3600, 2)
            put(time / 60 % 60, 2)
            put(time % 60, 2)
            if form == .utc { buffer[index] = UInt8(ascii: "Z") }
        }
    }

    /// The day count of `YYYYMMDD` at `offset` of `bytes`, nil when it is not a real date.
    private static func date(_ bytes: [UInt8], _ offset: Int) -> Int64? {
        guard let year = digits(bytes, offset, 4), let month = digits(bytes, offset + 4, 2), let day = digits(bytes, offset + 6, 2),
              (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else { return nil }
        return Int64(CivilDate.daysSinceEpoch(year: year, month: month, day: day))
    }

    private static func digits(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> Int? {
        guard bytes.count >= offset + width else { return nil }
        var value = 0
        for byte in bytes[offset..<(offset + width)] {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

}

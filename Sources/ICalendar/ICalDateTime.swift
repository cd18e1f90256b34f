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
        guard property.parameter("VALUE")?.uppercased() != "DATE", bytes.count == 15 || bytes.count == 16,
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
        let days = Int(localSeconds.floorDivided(by: 86_400))
        let (year, month, day) = CivilDate.civilDate(daysSinceEpoch: days)
        Self.put(year, 4, &output)
        Self.put(month, 2, &output)
        Self.put(day, 2, &output)
        if form != .date {
            let time = Int(localSeconds - Int64(days) * 86_400)
            output.append(UInt8(ascii: "T"))
            Self.put(time / 3600, 2, &output)
            Self.put(time / 60 % 60, 2, &output)
            Self.put(time % 60, 2, &output)
            if form == .utc { output.append(UInt8(ascii: "Z")) }
        }
    }

    /// `value` in `width` decimal digits, zero-padded (a negative or wider value as it comes).
    private static func put(_ value: Int, _ width: Int, _ output: inout [UInt8]) {
        var limit = 1
        for _ in 0..<width { limit *= 10 }
        guard value >= 0, value < limit else { output.append(contentsOf: String(value).utf8); return }
        var divisor = limit / 10
        while divisor > 0 {
            output.append(UInt8(value / divisor % 10) + 0x30)
            divisor /= 10
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

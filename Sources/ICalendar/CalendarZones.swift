import Clocks

/// A zone defined by a VTIMEZONE component (RFC 5545 §3.6.5): its STANDARD and DAYLIGHT
/// observances, each an onset (DTSTART, repeated by a yearly RRULE with BYMONTH and BYDAY, or
/// by RDATEs) and the offset it sets (TZOFFSETTO). Used for a TZID the system's tzdata does not
/// know (Outlook's `W. Europe Standard Time`, Mozilla's prefixed names).
public struct CalendarZone: ZoneOffsets {
    struct Observance: Sendable {
        let start: Int64
        let offsetFrom: Int64
        let offsetTo: Int64
        let extraStarts: [Int64]
        let yearly: (month: Int, week: Int, weekday: Int, until: Int64?)?
    }

    let observances: [Observance]

    /// The zone `component` defines, nil when it is not a VTIMEZONE with at least one usable observance.
    public init?(_ component: ICalComponent) {
        guard component.name == "VTIMEZONE" else { return nil }
        observances = component.components.compactMap(Self.observance)
        guard !observances.isEmpty else { return nil }
    }

    /// The offset of the observance with the latest onset at or before `utcSeconds`.
    public func offset(atUTC utcSeconds: Int64) -> Int64 {
        var best: (onset: Int64, offset: Int64)?
        for observance in observances {
            guard let onset = Self.latestOnset(observance, atOrBefore: utcSeconds) else { continue }
            if best == nil || onset > best!.onset { best = (onset, observance.offsetTo) }
        }
        if let best { return best.offset }
        return observances.min { $0.start < $1.start }!.offsetFrom
    }

    static func latestOnset(_ observance: Observance, atOrBefore utcSeconds: Int64) -> Int64? {
        // Onsets are local times in the offset before them.
        var candidates = ([observance.start] + observance.extraStarts).map { $0 - observance.offsetFrom }
        if let rule = observance.yearly {
            let year = CivilDate.civilDate(daysSinceEpoch: CivilDate.split(secondsSinceEpoch: utcSeconds).days).year
            let timeOfDay = Int64(CivilDate.split(secondsSinceEpoch: observance.start).secondOfDay)
            for candidateYear in [year - 1, year] {
                let change = PosixZoneRule.Change(day: .monthWeekDay(month: rule.month, week: rule.week, weekday: rule.weekday),
                                                  time: timeOfDay)
                let onset = PosixZoneRule.localSeconds(of: change, year: candidateYear) - observance.offsetFrom
                if onset >= observance.start - observance.offsetFrom, rule.until.map({ onset <= $0 }) ?? true {
                    candidates.append(onset)
                }
            }
        }
        return candidates.filter { $0 <= utcSeconds }.max()
    }

    static func observance(_ component: ICalComponent) -> Observance? {
        guard component.name == "STANDARD" || component.name == "DAYLIGHT",
              let start = component.property("DTSTART").flatMap(ICalDateTime.init),
              let from = component.property("TZOFFSETFROM").flatMap({ utcOffset($0.value) }),
              let to = component.property("TZOFFSETTO").flatMap({ utcOffset($0.value) }) else { return nil }
        let extra = component.properties(named: "RDATE").flatMap { property in
            ICalText.splitList(property.value).compactMap { ICalDateTime(ICalProperty(name: "RDATE", value: $0))?.localSeconds }
        }
        return Observance(start: start.localSeconds, offsetFrom: from, offsetTo: to, extraStarts: extra,
                          yearly: component.property("RRULE").flatMap { yearlyRule($0.value) })
    }

    /// `FREQ=YEARLY;BYMONTH=m;BYDAY=nDD` (n from -1 to 5; -1 and 5 the last), with an optional UNTIL.
    static func yearlyRule(_ text: String) -> (month: Int, week: Int, weekday: Int, until: Int64?)? {
        var parts: [String: String] = [:]
        for part in text.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            parts[pair[0].uppercased()] = String(pair[1]).uppercased()
        }
        let weekdays = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
        guard parts["FREQ"] == "YEARLY", let month = parts["BYMONTH"].flatMap({ Int($0) }), (1...12).contains(month),
              let byDay = parts["BYDAY"], byDay.count >= 3, let weekday = weekdays.firstIndex(of: String(byDay.suffix(2))),
              let ordinal = Int(byDay.dropLast(2)), (-1...5).contains(ordinal), ordinal != 0 else { return nil }
        let until = parts["UNTIL"].flatMap { ICalDateTime(ICalProperty(name: "UNTIL", value: $0))?.localSeconds }
        return (month, ordinal == -1 ? 5 : ordinal, weekday, until)
    }

    /// `+hhmm[ss]` or `-hhmm[ss]` in seconds.
    static func utcOffset(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 5 || bytes.count == 7, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
              bytes.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let digits = bytes.dropFirst().map { Int64($0 - 0x30) }
        var seconds = (digits[0] * 10 + digits[1]) * 3600 + (digits[2] * 10 + digits[3]) * 60
        if digits.count == 6 { seconds += digits[4] * 10 + digits[5] }
        return bytes[0] == UInt8(ascii: "-") ? -seconds : seconds
    }
}

/// How the zones of one object are found: its own VTIMEZONEs by TZID, else the system's tzdata
/// by IANA name (tzdata first: it is kept current, while clients often send one year's rules).
public struct CalendarZones: Sendable {
    let defined: [String: CalendarZone]
    let directory: ZoneDirectory

    /// The zones for `calendar` (its VTIMEZONE components), falling back to `directory`.
    public init(calendar: ICalComponent, directory: ZoneDirectory = .system) {
        var defined: [String: CalendarZone] = [:]
        for component in calendar.components(named: "VTIMEZONE") {
            if let name = component.property("TZID")?.value, let zone = CalendarZone(component) { defined[name] = zone }
        }
        self.defined = defined
        self.directory = directory
    }

    /// The zone a `TZID` names, nil when neither tzdata nor the object defines it.
    public func zone(_ name: String) -> (any ZoneOffsets)? {
        if let system = directory.zone(named: name) { return system }
        return defined[name]
    }
}

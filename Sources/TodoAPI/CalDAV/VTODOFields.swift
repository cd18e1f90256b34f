import ASCII
import Clocks
import ICalendar
import TaskModel

/// The VTODO properties the task model maps (Addendum v2.2 §14.3), and the translations both
/// directions share: what is read from a VTODO is written back from the task, and the rest is
/// kept verbatim (`TaskState.calendarData`).
enum VTODOFields {
    /// Properties that become task fields or are written from them, never kept.
    static let mappedNames: [StaticString] = ["UID", "SUMMARY", "DESCRIPTION", "CATEGORIES", "CREATED", "LAST-MODIFIED", "DTSTAMP",
                                              "COMPLETED"]
    /// Properties that become task fields and are kept too, as the client spelled them: written
    /// back as sent while they still say what the task says (`VTODOWriter`).
    enum SpelledAsSent: Int, CaseIterable {
        case status, priority, due, rule

        /// Every case, made once (a report looks each kept property up among them).
        static let all = allCases

        /// The property's name.
        var name: StaticString {
            switch self {
            case .status: return "STATUS"
            case .priority: return "PRIORITY"
            case .due: return "DUE"
            case .rule: return "RRULE"
            }
        }
    }
    /// `mappedNames` as a set, for components.
    static let mapped = Set(mappedNames.map(\.description))
    /// The names of `SpelledAsSent`, as a set, for components.
    static let spelledAsSent = Set(SpelledAsSent.allCases.map(\.name.description))
    /// VCALENDAR properties this server writes itself.
    static let calendarOwn: Set<String> = ["VERSION", "PRODID", "CALSCALE", "METHOD"]

    /// `PRIORITY` 1–4 high, 5 / 0 / none medium, 6–9 low (RFC 5545 §3.8.1.9's three bands).
    static func priority(_ value: String?) -> TaskPriority {
        guard let value, let number = Int(value[...].trimmingASCIISpaces) else { return .medium }
        switch number {
        case 1...4: return .high
        case 6...9: return .low
        default: return .medium
        }
    }

    /// The `PRIORITY` value written for a task whose client spelled none that still maps:
    /// high 1, low 9, medium none.
    static func priorityValue(_ priority: TaskPriority) -> String? {
        switch priority {
        case .high: return "1"
        case .medium: return nil
        case .low: return "9"
        }
    }

    /// Whether `STATUS` says done (`COMPLETED`, `CANCELLED`): nil when it names no known state.
    static func statusIsDone(_ value: String) -> Bool? {
        let status = value[...].trimmingASCIISpaces.utf8
        func named(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { name in
                status.count == name.count && zip(status, name).allSatisfy { $0 == $1 || ($0 >= 0x61 && $0 <= 0x7A && $0 - 0x20 == $1) }
            }
        }
        if named("COMPLETED") || named("CANCELLED") { return true }
        if named("NEEDS-ACTION") || named("IN-PROCESS") { return false }
        return nil
    }

    /// The recurrence an `RRULE` with only `FREQ` (DAILY … YEARLY) and `INTERVAL` (1…365) spells;
    /// nil for any other rule (kept for CalDAV, null in the API).
    static func recurrence(_ rule: String) -> TaskRecurrence? {
        var frequency: TaskRecurrence.Frequency?
        var interval: Int64 = 1
        for part in rule.split(separator: ";", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { return nil }
            switch pair[0].uppercased() {
            case "FREQ":
                guard frequency == nil, let named = TaskRecurrence.Frequency(name: pair[1].lowercased()) else { return nil }
                frequency = named
            case "INTERVAL":
                guard let number = Int64(pair[1]), number >= 1, number <= TaskRecurrence.maximumInterval else { return nil }
                interval = number
            default:
                return nil
            }
        }
        return frequency.map { TaskRecurrence(frequency: $0, interval: interval) }
    }

    /// The `RRULE` value of `recurrence`.
    static func rule(_ recurrence: TaskRecurrence) -> String {
        "FREQ=" + recurrence.frequency.name.uppercased() + (recurrence.interval == 1 ? "" : ";INTERVAL=\(recurrence.interval)")
    }

    /// The due date `property` (a DUE) names, through the object's zones: a DATE is an all-day
    /// date, a floating time is read as UTC, a TZID tzdata and the object both do not know too.
    /// Nil when the value is not a date or date-time, or out of the API's years.
    static func dueDate(_ property: ICalProperty, zones: CalendarZones) -> TaskDueDate? {
        dueDate(property, zone: zones.zone)
    }

    /// `dueDate(_:zones:)` with the zones as a lookup by TZID.
    static func dueDate(_ property: ICalProperty, zone: (String) -> (any ZoneOffsets)?) -> TaskDueDate? {
        guard let moment = ICalDateTime(property) else { return nil }
        let seconds = moment.utcSeconds(zones: zone) ?? moment.localSeconds
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow, milliseconds.partialValue >= Timestamp.earliest, milliseconds.partialValue <= Timestamp.latest else {
            return nil
        }
        return moment.form == .date ? .day(startingAt: milliseconds.partialValue) : .instant(milliseconds.partialValue)
    }

    /// The UTC DATE-TIME of `milliseconds` (the milliseconds dropped: iCalendar has seconds).
    static func utc(_ milliseconds: Int64) -> ICalDateTime {
        ICalDateTime(form: .utc, localSeconds: milliseconds.floorDivided(by: 1000))
    }

    /// `utc(milliseconds)` as written.
    static func utcText(_ milliseconds: Int64) -> String { utc(milliseconds).text }
}

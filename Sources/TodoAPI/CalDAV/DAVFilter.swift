import ICalendar
import XML

/// `calendar-query`'s filter (RFC 4791 §9.7) over a task's calendar object: nested
/// `comp-filter`s, `prop-filter`s with `is-not-defined`, `text-match` (i;ascii-casemap or
/// i;octet, negatable) and `time-range` (on a VTODO, its DUE; on a property, its value).
/// `param-filter`s are not evaluated: a filter on a parameter matches.
enum DAVFilter {
    /// Whether `calendar` (a VCALENDAR) passes `filter` (a `C:filter`); no filter passes all.
    static func matches(_ calendar: ICalComponent, _ filter: XMLElement?, zones: CalendarZones) -> Bool {
        guard let top = filter?.child(DAVNamespace.calDAV, "comp-filter") else { return true }
        return component([calendar], top, zones)
    }

    /// Whether `filter` keeps every task: none, or VCALENDAR holding at most a bare VTODO
    /// comp-filter (what clients send to list all tasks), so nothing needs evaluating.
    static func passesEveryTask(_ filter: XMLElement?) -> Bool {
        guard let filter, let top = filter.child(DAVNamespace.calDAV, "comp-filter") else { return true }
        guard filter.children.count == 1, top.attribute("name")?.uppercased() == "VCALENDAR" else { return false }
        if top.children.isEmpty { return true }
        guard top.children.count == 1, let todo = top.child(DAVNamespace.calDAV, "comp-filter") else { return false }
        return todo.attribute("name")?.uppercased() == "VTODO" && todo.children.isEmpty
    }

    private static func component(_ candidates: [ICalComponent], _ filter: XMLElement, _ zones: CalendarZones) -> Bool {
        let name = filter.attribute("name")?.uppercased() ?? ""
        let named = candidates.filter { $0.name == name }
        if filter.child(DAVNamespace.calDAV, "is-not-defined") != nil { return named.isEmpty }
        return named.contains { candidate in
            if let range = filter.child(DAVNamespace.calDAV, "time-range"), !componentInRange(candidate, range, zones) { return false }
            for propertyFilter in filter.children(DAVNamespace.calDAV, "prop-filter") where !property(candidate, propertyFilter, zones) {
                return false
            }
            for nested in filter.children(DAVNamespace.calDAV, "comp-filter") where !component(candidate.components, nested, zones) {
                return false
            }
            return true
        }
    }

    private static func property(_ component: ICalComponent, _ filter: XMLElement, _ zones: CalendarZones) -> Bool {
        let properties = component.properties(named: filter.attribute("name") ?? "")
        if filter.child(DAVNamespace.calDAV, "is-not-defined") != nil { return properties.isEmpty }
        guard !properties.isEmpty else { return false }
        if let range = filter.child(DAVNamespace.calDAV, "time-range") {
            guard let (start, end) = bounds(range) else { return false }
            return properties.contains { property in
                guard let moment = ICalDateTime(property), let seconds = moment.utcSeconds(zones: zones.zone) else { return false }
                return seconds >= start && seconds < end
            }
        }
        if let match = filter.child(DAVNamespace.calDAV, "text-match") {
            return properties.contains { textMatches($0.text, match) }
        }
        return true
    }

    /// A VTODO is in range when its DUE is (an all-day date when its day overlaps); one
    /// without DUE always is (RFC 4791 §9.9: it has a CREATED, which every range around now holds).
    private static func componentInRange(_ component: ICalComponent, _ range: XMLElement, _ zones: CalendarZones) -> Bool {
        guard let (start, end) = bounds(range) else { return false }
        guard component.name == "VTODO", let due = component.property("DUE"), let moment = ICalDateTime(due),
              let seconds = moment.utcSeconds(zones: zones.zone) else { return true }
        let dueEnd = moment.form == .date ? seconds + 86_400 : seconds
        return moment.form == .date ? (start < dueEnd && end > seconds) : (start <= seconds && end > seconds)
    }

    /// The range's bounds in seconds since the epoch (an open side unbounded), nil when malformed.
    private static func bounds(_ range: XMLElement) -> (Int64, Int64)? {
        func instant(_ attribute: String) -> Int64?? {
            guard let text = range.attribute(attribute) else { return .some(nil) }
            guard let moment = ICalDateTime(ICalProperty(name: "X", value: text)), moment.form == .utc else { return nil }
            return .some(moment.localSeconds)
        }
        guard let start = instant("start"), let end = instant("end") else { return nil }
        return (start ?? Int64.min, end ?? Int64.max)
    }

    private static func textMatches(_ text: String, _ match: XMLElement) -> Bool {
        let negated = match.attribute("negate-condition")?.lowercased() == "yes"
        let exact = match.attribute("collation") == "i;octet"
        let haystack = Array((exact ? text : asciiLowercased(text)).utf8)
        let needle = Array((exact ? match.text : asciiLowercased(match.text)).utf8)
        let found = needle.isEmpty || (haystack.count >= needle.count
            && (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) })
        return found != negated
    }

    private static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

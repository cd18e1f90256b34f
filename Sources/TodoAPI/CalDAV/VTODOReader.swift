import ICalendar
import JSON
import TaskModel

/// Reads a CalDAV client's calendar object (a PUT body) into a task's state (Addendum v2.2
/// §14.3): the mapped properties through the API's own rules (`TaskInput`), everything else
/// kept verbatim as `calendarData`.
enum VTODOReader {
    /// The state `body` describes, with its `uid` (the caller sets the resource name). Throws the
    /// precondition the body fails; a bad body never writes anything.
    static func read(_ body: [UInt8], zones directory: ZoneDirectory = .system) throws(CalendarObjectError) -> TaskState {
        let calendar = try onlyCalendar(body)
        let todo = try onlyTodo(calendar)
        let zones = CalendarZones(calendar: calendar, directory: directory)
        guard let uid = todo.property("UID")?.value, !uid.isEmpty else {
            throw CalendarObjectError(.invalidObject, "The VTODO has no UID.")
        }
        guard uid.utf8.count <= 255, !uid.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw CalendarObjectError(.invalidObject, "The UID must be at most 255 bytes, without control characters.")
        }
        var state = try fields(todo)
        state.uid = uid
        if let due = todo.property("DUE") {
            guard let dueDate = VTODOFields.dueDate(due, zones: zones) else {
                throw CalendarObjectError(.invalidObject, "DUE must be a date or date-time in the years 1970 to 9999.")
            }
            state.dueDate = dueDate
        }
        var keepsRule = false
        if let rule = todo.property("RRULE") {
            // A rule the task model has no field for, or no due date to repeat from: kept for CalDAV only.
            if let recurrence = VTODOFields.recurrence(rule.value), state.dueDate != nil {
                state.recurrence = recurrence
            } else {
                keepsRule = true
            }
        }
        state.completed = todo.property("STATUS").flatMap { VTODOFields.statusIsDone($0.value) } == true || todo.property("COMPLETED") != nil
        if state.completed, let completed = todo.property("COMPLETED"), let moment = ICalDateTime(completed),
           let seconds = moment.utcSeconds(zones: zones.zone), seconds >= 0, seconds <= Timestamp.latest / 1000 {
            state.reportedCompletedAt = seconds * 1000
        }
        state.calendarData = kept(calendar: calendar, todo: todo, keepsRule: keepsRule)
        return state
    }

    /// The one VCALENDAR of `body`.
    private static func onlyCalendar(_ body: [UInt8]) throws(CalendarObjectError) -> ICalComponent {
        let components: [ICalComponent]
        do {
            components = try ICalReader.read(body)
        } catch {
            if error.reason == .notUTF8 { throw CalendarObjectError(.notUTF8, "The calendar object is not UTF-8.") }
            throw CalendarObjectError(.invalidData, "The calendar object is not valid iCalendar (\(error.reason), line \(error.line)).")
        }
        guard components.count == 1, components[0].name == "VCALENDAR" else {
            throw CalendarObjectError(.invalidData, "The body must be exactly one VCALENDAR.")
        }
        return components[0]
    }

    /// The one VTODO of `calendar`, which holds nothing else but VTIMEZONEs.
    private static func onlyTodo(_ calendar: ICalComponent) throws(CalendarObjectError) -> ICalComponent {
        if let other = calendar.components.first(where: { $0.name != "VTODO" && $0.name != "VTIMEZONE" }) {
            throw CalendarObjectError(.unsupportedComponent, "This calendar holds tasks (VTODO) only, not \(other.name).")
        }
        let todos = calendar.components(named: "VTODO")
        guard todos.count == 1 else {
            throw CalendarObjectError(.invalidData, "The VCALENDAR must hold exactly one VTODO (it holds \(todos.count)).")
        }
        return todos[0]
    }

    /// Title, description, priority and tags, through the JSON API's validation.
    private static func fields(_ todo: ICalComponent) throws(CalendarObjectError) -> TaskState {
        guard let summary = todo.property("SUMMARY")?.text else {
            throw CalendarObjectError(.invalidObject, "The VTODO has no SUMMARY (the task's title).")
        }
        var object: [String: JSONValue] = ["title": .string(summary)]
        if let description = todo.property("DESCRIPTION")?.text { object["description"] = .string(description) }
        object["priority"] = .string(VTODOFields.priority(todo.property("PRIORITY")?.value).name)
        let tags = todo.properties(named: "CATEGORIES").flatMap(\.textList).filter { !$0.isEmpty }
        if !tags.isEmpty { object["tags"] = .array(tags.map(JSONValue.string)) }
        do {
            return try TaskInput.changes(in: object).applied(to: TaskState(title: ""))
        } catch {
            throw CalendarObjectError(.invalidObject, error.detail)
        }
    }

    /// What the task has no field for, as iCalendar text: the calendar's own properties but
    /// the four this server writes, its VTIMEZONEs, and the VTODO's properties but the mapped
    /// ones (STATUS, PRIORITY, DUE and a kept RRULE as the client spelled them) with its
    /// alarms and other components. Nil when nothing is left.
    private static func kept(calendar: ICalComponent, todo: ICalComponent, keepsRule: Bool) -> String? {
        let todoProperties = todo.properties.filter { property in
            !VTODOFields.mapped.contains(property.name) && (property.name != "RRULE" || keepsRule)
        }
        let calendarProperties = calendar.properties.filter { !VTODOFields.calendarOwn.contains($0.name) }
        let zones = calendar.components(named: "VTIMEZONE")
        guard !todoProperties.isEmpty || !todo.components.isEmpty || !calendarProperties.isEmpty || !zones.isEmpty else { return nil }
        let keptTodo = ICalComponent(name: "VTODO", properties: todoProperties, components: todo.components)
        let keptCalendar = ICalComponent(name: "VCALENDAR", properties: calendarProperties, components: zones + [keptTodo])
        return String(decoding: ICalWriter.write(keptCalendar), as: UTF8.self)
    }
}

import ICalendar
import TaskModel

/// Writes a task as the calendar object CalDAV clients read (Addendum v2.2 §14.3): one
/// VCALENDAR with one VTODO, the task's fields as properties, the kept text around them.
enum VTODOWriter {
    /// The product identifier of every object this server writes.
    static let productID = "-//todo-fcgi//CalDAV//EN"

    /// The calendar object of `row`, as text.
    static func write(_ row: TaskRow, zones directory: ZoneDirectory = .system) -> [UInt8] {
        ICalWriter.write(calendar(row, zones: directory).calendar)
    }

    /// The calendar object of `row` (a VCALENDAR), and the zones its times are in.
    static func calendar(_ row: TaskRow, zones directory: ZoneDirectory = .system) -> (calendar: ICalComponent, zones: CalendarZones) {
        let state = row.state
        let kept = state.calendarData.flatMap { try? ICalReader.read(Array($0.utf8)).first } ?? ICalComponent(name: "VCALENDAR")
        let keptTodo = kept.components(named: "VTODO").first ?? ICalComponent(name: "VTODO")
        let zones = CalendarZones(calendar: kept, directory: directory)
        func spelled(_ name: String) -> ICalProperty? { keptTodo.property(name) }

        var properties = [
            ICalProperty(name: "UID", value: state.uid),
            ICalProperty(name: "DTSTAMP", value: VTODOFields.utcText(row.updatedAt)),
            ICalProperty(name: "CREATED", value: VTODOFields.utcText(row.createdAt)),
            ICalProperty(name: "LAST-MODIFIED", value: VTODOFields.utcText(row.updatedAt)),
            ICalProperty(name: "SUMMARY", text: state.title),
        ]
        if let description = state.description { properties.append(ICalProperty(name: "DESCRIPTION", text: description)) }
        if let status = spelled("STATUS"), VTODOFields.statusIsDone(status.value) == state.completed {
            properties.append(status)
        } else {
            properties.append(ICalProperty(name: "STATUS", value: state.completed ? "COMPLETED" : "NEEDS-ACTION"))
        }
        if state.completed, let completedAt = row.completedAt {
            properties.append(ICalProperty(name: "COMPLETED", value: VTODOFields.utcText(completedAt)))
        }
        if let priority = spelled("PRIORITY"), VTODOFields.priority(priority.value) == state.priority {
            properties.append(priority)
        } else if let value = VTODOFields.priorityValue(state.priority) {
            properties.append(ICalProperty(name: "PRIORITY", value: value))
        }
        if !state.tags.isEmpty {
            properties.append(ICalProperty(name: "CATEGORIES", value: state.tags.map(ICalText.escape).joined(separator: ",")))
        }
        if let due = state.dueDate {
            if let sent = spelled("DUE"), VTODOFields.dueDate(sent, zones: zones) == due {
                properties.append(sent)
            } else if due.isAllDay {
                properties.append(ICalProperty(name: "DUE", parameters: [ICalParameter(name: "VALUE", values: ["DATE"])],
                                               value: ICalDateTime(form: .date, localSeconds: due.milliseconds / 1000).text))
            } else {
                properties.append(ICalProperty(name: "DUE", value: VTODOFields.utcText(due.milliseconds)))
            }
        }
        // A completed occurrence whose series went on in the next one repeats no more: clients
        // that expand rules would otherwise show the series twice.
        if !(state.completed && row.nextTaskID != nil) {
            if let recurrence = state.recurrence {
                properties.append(ICalProperty(name: "RRULE", value: VTODOFields.rule(recurrence)))
            } else if let rule = spelled("RRULE") {
                properties.append(rule)
            }
        }
        properties += keptTodo.properties.filter { !VTODOFields.spelledAsSent.contains($0.name) && !VTODOFields.mapped.contains($0.name) }

        let todo = ICalComponent(name: "VTODO", properties: properties, components: keptTodo.components)
        let calendar = ICalComponent(name: "VCALENDAR",
                                     properties: [ICalProperty(name: "VERSION", value: "2.0"), ICalProperty(name: "PRODID", value: productID)]
                                         + kept.properties,
                                     components: kept.components(named: "VTIMEZONE") + [todo])
        return (calendar, zones)
    }
}

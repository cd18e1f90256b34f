import ASCII
import ICalendar
import TaskModel

/// Writes a task as the calendar object CalDAV clients read (Addendum v2.2 §14.3): one
/// VCALENDAR with one VTODO, the task's fields as properties, the kept text around them.
enum VTODOWriter {
    /// The product identifier of every object this server writes.
    static let productID: StaticString = "-//todo-fcgi//CalDAV//EN"

    /// The calendar object of `row`, as text.
    static func write(_ row: TaskRow, zones directory: ZoneDirectory = .system) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        append(row, to: &output, zones: directory)
        return output
    }

    /// Appends the calendar object of `row` to `output`, straight from the row as the JSON is:
    /// the task's fields written in place, and its kept text (a task a CalDAV app made) copied
    /// out line by line where it lies (`KeptCalendarOutline`). The same bytes as the components
    /// of `calendar(row)` give (`VTODOMappingTests` holds the two together), without a component
    /// or a `String` per property; kept text of another shape goes through the components.
    static func append(_ row: TaskRow, to output: inout [UInt8], zones directory: ZoneDirectory = .system) {
        guard row.hasCalendarData else {
            appendStreamed(row, to: &output, zones: directory)
            return
        }
        let streamed = row.withCalendarData { text -> Bool in
            guard let kept = KeptCalendarOutline(text) else { return false }
            appendStreamed(row, kept: kept, to: &output, zones: directory)
            return true
        }
        if !streamed { ICalWriter.append(calendar(row, zones: directory).calendar, to: &output) }
    }

    /// The object of `row`, with `kept`'s parts copied from its text where the components put them.
    private static func appendStreamed(_ row: TaskRow, kept: KeptCalendarOutline? = nil, to output: inout [UInt8],
                                       zones directory: ZoneDirectory) {
        output.append(fixed: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
        output.append(fixed: productID)
        output.append(fixed: "\r\n")
        if let kept {
            kept.copy(kept.calendarProperties, to: &output)
            kept.copy(kept.zones, to: &output)
        }
        output.append(fixed: "BEGIN:VTODO\r\n")
        // Each line is opened, written and folded in place: no closure or string per property.
        var start = open("UID:", &output)
        row.withUID { output.append(contentsOf: $0) }
        close(start, &output)
        start = open("DTSTAMP:", &output)
        utc(row.updatedAt, &output)
        close(start, &output)
        start = open("CREATED:", &output)
        utc(row.createdAt, &output)
        close(start, &output)
        start = open("LAST-MODIFIED:", &output)
        utc(row.updatedAt, &output)
        close(start, &output)
        start = open("SUMMARY:", &output)
        row.withTitle { ICalText.append(escaping: $0, to: &output) }
        close(start, &output)
        if row.hasDescription {
            start = open("DESCRIPTION:", &output)
            row.withDescription { ICalText.append(escaping: $0, to: &output) }
            close(start, &output)
        }
        // STATUS, PRIORITY, DUE and RRULE as the app spelled them while they say what the task says.
        let completed = row.completed
        if let kept, kept.value(.status).flatMap(VTODOFields.statusIsDone) == completed {
            kept.copy(.status, to: &output)
        } else {
            close(open(completed ? "STATUS:COMPLETED" : "STATUS:NEEDS-ACTION", &output), &output)
        }
        if completed, let completedAt = row.completedAt {
            start = open("COMPLETED:", &output)
            utc(completedAt, &output)
            close(start, &output)
        }
        if let kept, let sent = kept.value(.priority), VTODOFields.priority(sent) == row.priority {
            kept.copy(.priority, to: &output)
        } else if let value = VTODOFields.priorityValue(row.priority) {
            start = open("PRIORITY:", &output)
            output.append(contentsOf: value.utf8)
            close(start, &output)
        }
        start = open("CATEGORIES:", &output)
        var tagCount = 0
        row.withTagsJSON { json in
            TaskRow.forEachTag(inJSON: json) { tag in
                if tagCount > 0 { output.append(UInt8(ascii: ",")) }
                tagCount += 1
                ICalText.append(escaping: tag, to: &output)
            }
        }
        if tagCount == 0 { output.removeSubrange(start...) } else { close(start, &output) }
        if let due = row.dueDate {
            if let kept, let sent = kept.property(.due), VTODOFields.dueDate(sent, zone: { kept.zone(named: $0, directory: directory) }) == due {
                kept.copy(.due, to: &output)
            } else if due.isAllDay {
                start = open("DUE;VALUE=DATE:", &output)
                ICalDateTime(form: .date, localSeconds: due.milliseconds / 1000).append(to: &output)
                close(start, &output)
            } else {
                start = open("DUE:", &output)
                utc(due.milliseconds, &output)
                close(start, &output)
            }
        }
        // A completed occurrence whose series went on in the next one repeats no more: clients
        // that expand rules would otherwise show the series twice.
        if !(completed && row.nextTaskID != nil) {
            if let recurrence = row.recurrence {
                start = open("RRULE:", &output)
                output.append(contentsOf: VTODOFields.rule(recurrence).utf8)
                close(start, &output)
            } else if let kept, kept.has(.rule) {
                kept.copy(.rule, to: &output)
            }
        }
        if let kept {
            for span in kept.todoProperties { kept.copy(span, to: &output) }
            for span in kept.todoComponents { kept.copy(span, to: &output) }
        }
        output.append(fixed: "END:VTODO\r\nEND:VCALENDAR\r\n")
    }

    /// Starts a content line with `start` (its name and what precedes the value); returns where
    /// the line starts, for `close`.
    private static func open(_ start: StaticString, _ output: inout [UInt8]) -> Int {
        let lineStart = output.count
        output.append(fixed: start)
        return lineStart
    }

    /// Ends the content line begun at `lineStart`, folded when too long.
    private static func close(_ lineStart: Int, _ output: inout [UInt8]) {
        ICalWriter.endLine(startingAt: lineStart, in: &output)
    }

    /// Appends the UTC DATE-TIME of `milliseconds` (`VTODOFields.utc`).
    private static func utc(_ milliseconds: Int64, _ output: inout [UInt8]) {
        VTODOFields.utc(milliseconds).append(to: &output)
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
                                     properties: [ICalProperty(name: "VERSION", value: "2.0"), ICalProperty(name: "PRODID", value: productID.description)]
                                         + kept.properties,
                                     components: kept.components(named: "VTIMEZONE") + [todo])
        return (calendar, zones)
    }
}

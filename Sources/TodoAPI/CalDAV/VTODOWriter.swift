import ICalendar
import TaskModel

/// Writes a task as the calendar object CalDAV clients read (Addendum v2.2 §14.3): one
/// VCALENDAR with one VTODO, the task's fields as properties, the kept text around them.
enum VTODOWriter {
    /// The product identifier of every object this server writes.
    static let productID = "-//todo-fcgi//CalDAV//EN"

    /// The calendar object of `row`, as text.
    static func write(_ row: TaskRow, zones directory: ZoneDirectory = .system) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        append(row, to: &output, zones: directory)
        return output
    }

    /// Appends the calendar object of `row` to `output`. A task with kept text goes through its
    /// components (`calendar`); one without (every task made through the API) is written
    /// straight from the row, as the JSON is: the same bytes (`VTODOWriterTests` holds the two
    /// together), without a component or a `String` per property.
    static func append(_ row: TaskRow, to output: inout [UInt8], zones directory: ZoneDirectory = .system) {
        guard !row.hasCalendarData else {
            ICalWriter.append(calendar(row, zones: directory).calendar, to: &output)
            return
        }
        output.append(contentsOf: head)
        line("UID:", &output) { output in row.withUID { output.append(contentsOf: $0) } }
        line("DTSTAMP:", &output) { output in utc(row.updatedAt, &output) }
        line("CREATED:", &output) { output in utc(row.createdAt, &output) }
        line("LAST-MODIFIED:", &output) { output in utc(row.updatedAt, &output) }
        line("SUMMARY:", &output) { output in row.withTitle { ICalText.append(escaping: $0, to: &output) } }
        if row.hasDescription {
            line("DESCRIPTION:", &output) { output in row.withDescription { ICalText.append(escaping: $0, to: &output) } }
        }
        let completed = row.completed
        line(completed ? "STATUS:COMPLETED" : "STATUS:NEEDS-ACTION", &output) { _ in }
        if completed, let completedAt = row.completedAt {
            line("COMPLETED:", &output) { output in utc(completedAt, &output) }
        }
        if let value = VTODOFields.priorityValue(row.priority) {
            line("PRIORITY:" + value, &output) { _ in }
        }
        let tags = row.withTagsJSON { $0.count > 2 ? TaskRow.tags(fromJSON: $0) : [] }
        if !tags.isEmpty {
            line("CATEGORIES:", &output) { output in
                for (index, tag) in tags.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    var tag = tag
                    tag.withUTF8 { ICalText.append(escaping: $0, to: &output) }
                }
            }
        }
        if let due = row.dueDate {
            if due.isAllDay {
                line("DUE;VALUE=DATE:", &output) { output in
                    ICalDateTime(form: .date, localSeconds: due.milliseconds / 1000).append(to: &output)
                }
            } else {
                line("DUE:", &output) { output in utc(due.milliseconds, &output) }
            }
        }
        if !(completed && row.nextTaskID != nil), let recurrence = row.recurrence {
            line("RRULE:" + VTODOFields.rule(recurrence), &output) { _ in }
        }
        output.append(contentsOf: tail)
    }

    private static let head = Array("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:\(productID)\r\nBEGIN:VTODO\r\n".utf8)
    private static let tail = Array("END:VTODO\r\nEND:VCALENDAR\r\n".utf8)

    /// One content line: `start`, then what `body` writes, folded when too long.
    private static func line(_ start: String, _ output: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        let lineStart = output.count
        output.append(contentsOf: start.utf8)
        body(&output)
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
                                     properties: [ICalProperty(name: "VERSION", value: "2.0"), ICalProperty(name: "PRODID", value: productID)]
                                         + kept.properties,
                                     components: kept.components(named: "VTIMEZONE") + [todo])
        return (calendar, zones)
    }
}

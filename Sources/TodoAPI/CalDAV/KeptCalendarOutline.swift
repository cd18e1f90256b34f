import ICalendar

/// Where the parts of a task's kept iCalendar text lie (`TaskState.calendarData`, as
/// `VTODOReader` writes it: the calendar's own properties, its VTIMEZONEs, then one VTODO with
/// the properties and components the task has no field for), found by one scan of its lines so
/// that a report copies them out instead of parsing the text into components on every read.
/// Nil for text of any other shape, which goes through components instead.
struct KeptCalendarOutline {
    /// The lines of the text, for the spelled properties' values.
    let lines: ICalLines
    /// The VCALENDAR's own properties (lines between its BEGIN and first component).
    private(set) var calendarProperties: Range<Int>
    /// The VTIMEZONE components, one run of lines.
    private(set) var zones: Range<Int>
    /// The VTODO's properties kept as they are, in order (neither mapped nor spelled as sent).
    private(set) var todoProperties: [Range<Int>] = []
    /// The VTODO's components (alarms, …), in order.
    private(set) var todoComponents: [Range<Int>] = []
    /// The first of each property kept as the client spelled it (`VTODOFields.spelledAsSentNames`).
    private(set) var spelled: [ICalLines.Line?] = Array(repeating: nil, count: VTODOFields.spelledAsSentNames.count)

    private enum Place { case calendar, zone, todo, todoComponent }

    init?(_ text: UnsafeBufferPointer<UInt8>) {
        var lines = ICalLines(text)
        guard let first = lines.next(), lines.line(first, is: "BEGIN", "VCALENDAR") else { return nil }
        calendarProperties = first.span.upperBound..<first.span.upperBound
        zones = first.span.upperBound..<first.span.upperBound
        var place = Place.calendar
        var componentStart = 0
        var open: [ICalLines.Line] = []
        open.reserveCapacity(ICalReader.maximumDepth)
        open.append(first)
        var sawComponent = false, sawTodo = false, ended = false
        while let line = lines.next() {
            guard !ended else { return nil }
            switch lines.nesting(line) {
            case 1:
                guard open.count < ICalReader.maximumDepth else { return nil }
                open.append(line)
                switch place {
                case .calendar:
                    // The zones are one run of lines: the component path writes them together.
                    if lines.line(line, is: "BEGIN", "VTIMEZONE"), !sawTodo, !sawComponent || zones.upperBound == line.span.lowerBound {
                        if !sawComponent { zones = line.span.lowerBound..<line.span.lowerBound }
                        place = .zone
                    } else if lines.line(line, is: "BEGIN", "VTODO"), !sawTodo {
                        sawTodo = true
                        place = .todo
                    } else {
                        return nil
                    }
                    sawComponent = true
                case .todo:
                    componentStart = line.span.lowerBound
                    place = .todoComponent
                case .zone, .todoComponent:
                    break
                }
            case -1:
                guard let begin = open.popLast(), Self.closes(line, begin, in: text) else { return nil }
                switch (place, open.count) {
                case (.calendar, 0): ended = true
                case (.zone, 1):
                    zones = zones.lowerBound..<line.span.upperBound
                    place = .calendar
                case (.todo, 1): place = .calendar
                case (.todoComponent, 2):
                    todoComponents.append(componentStart..<line.span.upperBound)
                    place = .todo
                default: break
                }
            default:
                switch place {
                case .calendar:
                    guard !sawComponent else { return nil }
                    calendarProperties = calendarProperties.lowerBound..<line.span.upperBound
                case .todo:
                    if let index = VTODOFields.spelledAsSentNames.firstIndex(where: { lines.line(line, isNamed: $0) }) {
                        if spelled[index] == nil { spelled[index] = line }
                    } else if !VTODOFields.mappedNames.contains(where: { lines.line(line, isNamed: $0) }) {
                        todoProperties.append(line.span)
                    }
                case .zone, .todoComponent:
                    break
                }
            }
        }
        guard ended, !lines.isMalformed else { return nil }
        self.lines = lines
    }

    /// The line kept for `name` (one of `VTODOFields.spelledAsSentNames`), if the app sent one.
    func spelledLine(_ name: StaticString) -> ICalLines.Line? {
        name.withUTF8Buffer { wanted in
            VTODOFields.spelledAsSentNames.firstIndex { $0.withUTF8Buffer { $0.elementsEqual(wanted) } }.flatMap { spelled[$0] }
        }
    }

    /// Whether `end` closes the component `begin` opened: the same name after the colon.
    private static func closes(_ end: ICalLines.Line, _ begin: ICalLines.Line, in text: UnsafeBufferPointer<UInt8>) -> Bool {
        let beginValue = (begin.name.upperBound + 1)..<(begin.span.upperBound - 2)
        let endValue = (end.name.upperBound + 1)..<(end.span.upperBound - 2)
        guard text[end.name.upperBound] == UInt8(ascii: ":"), text[begin.name.upperBound] == UInt8(ascii: ":"),
              beginValue.count == endValue.count else { return false }
        return text[beginValue].elementsEqual(text[endValue])
    }
}

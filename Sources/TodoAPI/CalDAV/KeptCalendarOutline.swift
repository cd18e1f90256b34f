import ICalendar

/// Where the parts of a task's kept iCalendar text lie (`TaskState.calendarData`, as
/// `VTODOReader` writes it: the calendar's own properties, its VTIMEZONEs, then one VTODO with
/// the properties and components the task has no field for), found by one scan of its lines so
/// that a report copies them out instead of parsing the text into components on every read.
/// Nil for text of any other shape, which goes through components instead. Valid while the
/// text it was made from is (a row read in place).
struct KeptCalendarOutline {
    /// The lines of the text (which it holds), for the spelled properties' values.
    private let lines: ICalLines
    /// The VCALENDAR's own properties (lines between its BEGIN and first component).
    private(set) var calendarProperties: Range<Int>
    /// The VTIMEZONE components, one run of lines.
    private(set) var zones: Range<Int>
    /// The VTODO's properties kept as they are, in order (neither mapped nor spelled as sent).
    private(set) var todoProperties: [Range<Int>] = []
    /// The VTODO's components (alarms, …), in order.
    private(set) var todoComponents: [Range<Int>] = []
    /// The first line of each property kept as the client spelled it, by `SpelledAsSent`.
    private var spelled: [ICalLines.Line?] = Array(repeating: nil, count: VTODOFields.SpelledAsSent.all.count)

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
                guard let begin = open.popLast(), let beginName = lines.bareValue(begin), let endName = lines.bareValue(line),
                      beginName.elementsEqual(endName) else { return nil }
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
                    if let property = VTODOFields.SpelledAsSent.all.first(where: { lines.line(line, isNamed: $0.name) }) {
                        if spelled[property.rawValue] == nil { spelled[property.rawValue] = line }
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

    /// Whether the app sent `property`.
    func has(_ property: VTODOFields.SpelledAsSent) -> Bool { spelled[property.rawValue] != nil }

    /// The value of the line kept for `property` (parsed only when it has parameters or folds).
    func value(_ property: VTODOFields.SpelledAsSent) -> String? {
        spelled[property.rawValue].flatMap { lines.plainValue($0) ?? lines.property($0)?.value }
    }

    /// The line kept for `property`, parsed.
    func property(_ property: VTODOFields.SpelledAsSent) -> ICalProperty? {
        spelled[property.rawValue].flatMap(lines.property)
    }

    /// Appends the kept bytes of `span` (one of this outline's parts) to `output`.
    func copy(_ span: Range<Int>, to output: inout [UInt8]) {
        if !span.isEmpty { output.append(contentsOf: UnsafeBufferPointer(rebasing: lines.text[span])) }
    }

    /// Appends the line kept for `property`, as the app spelled it, to `output`.
    func copy(_ property: VTODOFields.SpelledAsSent, to output: inout [UInt8]) {
        if let line = spelled[property.rawValue] { copy(line.span, to: &output) }
    }

    /// The zone a kept DUE's TZID names, as `CalendarZones` finds it: tzdata's first, so the
    /// kept VTIMEZONEs are read only for a name tzdata lacks.
    func zone(named name: String, directory: ZoneDirectory) -> (any ZoneOffsets)? {
        if let system = directory.zone(named: name) { return system }
        guard !zones.isEmpty, let components = try? ICalReader.read(Array(lines.text[zones])) else { return nil }
        return CalendarZones(calendar: ICalComponent(name: "VCALENDAR", components: components), directory: directory).zone(name)
    }
}

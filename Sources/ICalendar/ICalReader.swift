/// Reads iCalendar text (RFC 5545 §3.1) into components: unfolds lines (CRLF or a bare LF
/// followed by a space or tab), then parses each content line. It only builds values: no
/// line names a file, a URL or anything else that is fetched, and every size is bounded.
public enum ICalReader {
    /// The deepest nesting accepted (VCALENDAR › VTODO › VALARM needs 3; VTIMEZONE › STANDARD 2).
    public static let maximumDepth = 8
    /// The most content lines accepted in one object (the 64 KiB body cap allows fewer anyway).
    public static let maximumLines = 10_000

    /// The top-level components of `bytes`, which must be UTF-8 (a leading BOM is skipped).
    public static func read(_ bytes: [UInt8]) throws(ICalendarError) -> [ICalComponent] {
        var stack: [ICalComponent] = []
        var finished: [ICalComponent] = []
        var number = 0
        for line in unfold(bytes) {
            number += 1
            guard number <= maximumLines else { throw ICalendarError(.tooManyLines, line: number) }
            let property = try parse(line, number: number)
            switch property.name {
            case "BEGIN":
                guard stack.count < maximumDepth else { throw ICalendarError(.nestingTooDeep, line: number) }
                guard isName(property.value.utf8) else { throw ICalendarError(.malformedContentLine, line: number) }
                stack.append(ICalComponent(name: property.value))
            case "END":
                guard let open = stack.last, open.name == property.value.asciiUppercased else {
                    throw ICalendarError(.unmatchedEnd, line: number)
                }
                stack.removeLast()
                if stack.isEmpty { finished.append(open) } else { stack[stack.count - 1].components.append(open) }
            default:
                guard !stack.isEmpty else { throw ICalendarError(.propertyOutsideComponent, line: number) }
                stack[stack.count - 1].properties.append(property)
            }
        }
        guard stack.isEmpty else { throw ICalendarError(.unclosedComponent, line: 0) }
        return finished
    }

    /// The logical lines of `bytes`: physical lines split at LF (a CR before it dropped), a line
    /// starting with a space or tab joined to the one before without that character, blank lines
    /// skipped.
    static func unfold(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lines: [[UInt8]] = []
        while start < bytes.count {
            var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let next = end + 1
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let physical = bytes[start..<end]
            if let first = physical.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t"), !lines.isEmpty {
                lines[lines.count - 1].append(contentsOf: physical.dropFirst())
            } else if !physical.isEmpty {
                lines.append(Array(physical))
            }
            start = next
        }
        return lines.map { $0[...] }
    }

    /// One content line: `name *(";" param) ":" value`.
    static func parse(_ line: ArraySlice<UInt8>, number: Int) throws(ICalendarError) -> ICalProperty {
        let malformed = ICalendarError(.malformedContentLine, line: number)
        guard String(validating: line, as: UTF8.self) != nil else { throw ICalendarError(.notUTF8, line: number) }
        var index = line.startIndex
        func scanName() -> String? {
            let start = index
            while index < line.endIndex, isNameByte(line[index]) { index += 1 }
            guard index > start else { return nil }
            return String(decoding: line[start..<index], as: UTF8.self)
        }
        guard let name = scanName() else { throw malformed }
        var parameters: [ICalParameter] = []
        while index < line.endIndex, line[index] == UInt8(ascii: ";") {
            index += 1
            guard let parameterName = scanName(), index < line.endIndex, line[index] == UInt8(ascii: "=") else { throw malformed }
            index += 1
            guard let first = scanParameterValue(line, &index) else { throw malformed }
            var values = [first]
            while index < line.endIndex, line[index] == UInt8(ascii: ",") {
                index += 1
                guard let value = scanParameterValue(line, &index) else { throw malformed }
                values.append(value)
            }
            parameters.append(ICalParameter(name: parameterName, values: values))
        }
        guard index < line.endIndex, line[index] == UInt8(ascii: ":") else { throw malformed }
        let value = line[(index + 1)...]
        guard !value.contains(where: isForbiddenControl) else { throw malformed }
        return ICalProperty(name: name, parameters: parameters, value: String(decoding: value, as: UTF8.self))
    }

    /// A quoted-string or paramtext at `index`, which moves past it.
    private static func scanParameterValue(_ line: ArraySlice<UInt8>, _ index: inout Int) -> String? {
        if index < line.endIndex, line[index] == UInt8(ascii: "\"") {
            let start = index + 1
            guard let close = line[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            guard !line[start..<close].contains(where: isForbiddenControl) else { return nil }
            index = close + 1
            return String(decoding: line[start..<close], as: UTF8.self)
        }
        let start = index
        while index < line.endIndex {
            let byte = line[index]
            if byte == UInt8(ascii: ";") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ",") { break }
            guard byte != UInt8(ascii: "\""), !isForbiddenControl(byte) else { return nil }
            index += 1
        }
        return String(decoding: line[start..<index], as: UTF8.self)
    }

    /// iana-token and x-name characters: letters, digits and `-`.
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
    }

    /// Whether `text` is a non-empty name.
    static func isName(_ text: String.UTF8View) -> Bool { !text.isEmpty && text.allSatisfy(isNameByte) }

    /// CONTROL of RFC 5545: every C0 character but HTAB, and DEL.
    static func isForbiddenControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }
}

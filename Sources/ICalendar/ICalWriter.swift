/// Writes components as iCalendar text (RFC 5545 §3.1): CRLF line ends, lines folded at 75
/// octets without splitting a UTF-8 character, parameter values quoted when they must be.
public enum ICalWriter {
    /// The longest line, in octets, before its CRLF (RFC 5545 §3.1).
    public static let maximumLineOctets = 75

    /// `component` and everything nested in it, as text.
    public static func write(_ component: ICalComponent) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        append(component, to: &output)
        return output
    }

    /// Appends `component` to `output`.
    public static func append(_ component: ICalComponent, to output: inout [UInt8]) {
        output.append(contentsOf: "BEGIN:".utf8)
        output.append(contentsOf: component.name.utf8)
        output.append(contentsOf: [0x0D, 0x0A])
        for property in component.properties { append(property, to: &output) }
        for nested in component.components { append(nested, to: &output) }
        output.append(contentsOf: "END:".utf8)
        output.append(contentsOf: component.name.utf8)
        output.append(contentsOf: [0x0D, 0x0A])
    }

    /// Appends one property's content line, folded.
    public static func append(_ property: ICalProperty, to output: inout [UInt8]) {
        let start = output.count
        output.append(contentsOf: property.name.utf8)
        for parameter in property.parameters {
            output.append(UInt8(ascii: ";"))
            output.append(contentsOf: parameter.name.utf8)
            output.append(UInt8(ascii: "="))
            for (position, value) in parameter.values.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                appendParameterValue(value, to: &output)
            }
        }
        output.append(UInt8(ascii: ":"))
        output.append(contentsOf: property.value.utf8)
        endLine(startingAt: start, in: &output)
    }

    /// Ends the content line written into `output` from `start` on: folded when it is too long,
    /// then CRLF. For writers that write a line's bytes in place.
    public static func endLine(startingAt start: Int, in output: inout [UInt8]) {
        // Only a line too long is taken out and written again, folded.
        if output.count - start > maximumLineOctets {
            let line = Array(output[start...])
            output.removeSubrange(start...)
            appendLine(line, to: &output)
        } else {
            output.append(0x0D)
            output.append(0x0A)
        }
    }

    /// A parameter value, in quotes when it holds `;`, `:` or `,` (a `"` cannot be written and
    /// becomes `'`).
    private static func appendParameterValue(_ value: String, to line: inout [UInt8]) {
        let bytes = value.utf8.map { $0 == UInt8(ascii: "\"") ? UInt8(ascii: "'") : $0 }
        let needsQuotes = bytes.contains { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ",") }
        if needsQuotes { line.append(UInt8(ascii: "\"")) }
        line.append(contentsOf: bytes)
        if needsQuotes { line.append(UInt8(ascii: "\"")) }
    }

    /// `line` folded: at most 75 octets per physical line, continuation lines starting with a
    /// space, never cutting before a UTF-8 continuation byte.
    static func appendLine(_ line: [UInt8], to output: inout [UInt8]) {
        var start = 0
        var limit = maximumLineOctets
        while line.count - start > limit {
            var cut = start + limit
            while cut > start + 1, line[cut] & 0xC0 == 0x80 { cut -= 1 }
            output.append(contentsOf: line[start..<cut])
            output.append(contentsOf: [0x0D, 0x0A, 0x20])
            start = cut
            limit = maximumLineOctets - 1
        }
        output.append(contentsOf: line[start...])
        output.append(contentsOf: [0x0D, 0x0A])
    }
}

import ICalendar
import Testing

/// The line scanner a calendar report copies kept text with (`ICalLines`).
@Suite("iCalendar lines")
struct ICalLinesTests {
    static func scan(_ text: String) -> (lines: [String], names: [String], malformed: Bool) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var lines = ICalLines(buffer)
            var spans: [String] = [], names: [String] = []
            while let line = lines.next() {
                spans.append(String(decoding: buffer[line.span], as: UTF8.self))
                names.append(String(decoding: buffer[line.name], as: UTF8.self))
            }
            return (spans, names, lines.isMalformed)
        }
    }

    @Test func readsLinesWithTheirFoldsAndNames() {
        let folded = "X-LONG;P=\"a;b\":first part\r\n  second\r\n\tthird\r\n"
        let scanned = Self.scan("BEGIN:VTODO\r\n" + folded + "DUE;TZID=Europe/Berlin:20261208T090000\r\nEND:VTODO\r\n")
        #expect(scanned.lines == ["BEGIN:VTODO\r\n", folded, "DUE;TZID=Europe/Berlin:20261208T090000\r\n", "END:VTODO\r\n"])
        #expect(scanned.names == ["BEGIN", "X-LONG", "DUE", "END"])
        #expect(!scanned.malformed)
    }

    /// The fuzzer's first find: a name longer than a line is folded inside the name by the writer.
    @Test func readsWhatTheWriterWritesForANameLongerThanALine() throws {
        let name = "CO" + String(repeating: "1", count: 83) + "MPLETED"
        let written = ICalWriter.write(ICalComponent(name: "VTODO", properties: [ICalProperty(name: name, value: "20261208T090000Z")]))
        let scanned = Self.scan(String(decoding: written, as: UTF8.self))
        #expect(!scanned.malformed && scanned.lines.count == 3)
        #expect(String(scanned.names[1].filter { $0 != "\r\n" && $0 != " " }) == name)
    }

    @Test(arguments: [
        "BEGIN:VTODO\n",             // LF alone
        "begin:VTODO\r\n",           // a name not uppercase
        "BEGIN VTODO\r\n",           // no ':' or ';' after the name
        ":VTODO\r\n",                // no name
        "BEGIN:VTODO",               // no line end
        "BEGIN:VTODO\r\n\r\n",       // an empty line
        " BEGIN:VTODO\r\n",          // a fold with nothing before it
    ])
    func stopsAtTheFirstLineNotInThisServersShape(_ text: String) {
        let scanned = Self.scan(text)
        #expect(scanned.malformed, "\(text.debugDescription)")
    }

    @Test func givesPlainValuesOnlyForLinesWithoutParametersOrFolds() {
        let bytes = Array("STATUS:IN-PROCESS\r\nDUE;VALUE=DATE:20261208\r\nX-A:long\r\n  folded\r\n".utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var lines = ICalLines(buffer)
            let status = lines.next()!, due = lines.next()!, folded = lines.next()!
            #expect(lines.plainValue(status) == "IN-PROCESS" && lines.property(status)?.value == "IN-PROCESS")
            #expect(lines.plainValue(due) == nil && lines.property(due)?.parameter("VALUE") == "DATE")
            #expect(lines.plainValue(folded) == nil && lines.property(folded)?.value == "long folded")
            #expect(lines.line(status, isNamed: "STATUS") && !lines.line(status, isNamed: "STATU"))
            #expect(lines.nesting(status) == 0)
        }
    }
}

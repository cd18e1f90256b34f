import ICalendar
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("iCalendar reader")
struct ICalReaderTests {
    @Test func readsNestedComponentsWithParametersInOrder() throws {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTODO\r\nUID:a@b\r\n"
            + "DUE;TZID=\"Europe/Berlin\":20261208T090000\r\nX-A;P=\"a;b:c,d\",plain;Q=z:v:w\r\n"
            + "BEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        let calendars = try ICalReader.read(bytes(text))
        #expect(calendars.count == 1)
        let todo = try #require(calendars[0].components(named: "VTODO").first)
        #expect(todo.property("uid")?.value == "a@b")
        #expect(todo.property("DUE")?.parameter("tzid") == "Europe/Berlin")
        let extra = try #require(todo.property("X-A"))
        #expect(extra.parameters == [ICalParameter(name: "P", values: ["a;b:c,d", "plain"]), ICalParameter(name: "Q", values: ["z"])])
        #expect(extra.value == "v:w")
        #expect(todo.components.map(\.name) == ["VALARM"])
    }

    @Test func unfoldsCRLFAndBareLFContinuationsAndRejoinsSplitUTF8() throws {
        // "é" is C3 A9: a writer that split it across the fold must still read back whole.
        var raw = bytes("BEGIN:VTODO\r\nSUMMARY:caf")
        raw += [0xC3, 0x0D, 0x0A, 0x20, 0xA9]
        raw += bytes(" au lait\n\tand more\r\nEND:VTODO\n")
        let todo = try ICalReader.read(raw)[0]
        #expect(todo.property("SUMMARY")?.text == "café au laitand more")
    }

    @Test func skipsABOMAndBlankLines() throws {
        let raw = [0xEF, 0xBB, 0xBF] + bytes("BEGIN:VTODO\r\n\r\nUID:1\r\nEND:VTODO\r\n")
        #expect(try ICalReader.read(raw)[0].property("UID")?.value == "1")
    }

    @Test func keepsEmptyParameterValues() throws {
        // Found by the fuzzer: `P=,,x` lost its leading empty values, so it did not read back the same.
        let property = try #require(try ICalReader.read(bytes("BEGIN:X\nD;P=,,x;Q=:v\nEND:X\n"))[0].property("D"))
        #expect(property.parameters == [ICalParameter(name: "P", values: ["", "", "x"]), ICalParameter(name: "Q", values: [""])])
    }

    @Test func namesAreCaseInsensitive() throws {
        let todo = try ICalReader.read(bytes("begin:vtodo\nsummary;language=en:x\nend:VTODO\n"))[0]
        #expect(todo.name == "VTODO")
        #expect(todo.property("SUMMARY")?.parameters == [ICalParameter(name: "LANGUAGE", values: ["en"])])
    }

    @Test(arguments: [
        ("BEGIN:VTODO\nSUMMARY\nEND:VTODO\n", ICalendarError.Reason.malformedContentLine),
        ("BEGIN:VTODO\nSUM MARY:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\n:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nSUMMARY:a\u{01}b\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nSUMMARY:a\u{7F}\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nX;P=a\"b:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nX;P=\"ab:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nX;P:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:VTODO\nX;=a:x\nEND:VTODO\n", .malformedContentLine),
        ("BEGIN:V TODO\nEND:V TODO\n", .malformedContentLine),
        ("SUMMARY:x\nBEGIN:VTODO\nEND:VTODO\n", .propertyOutsideComponent),
        ("BEGIN:VTODO\nEND:VTODO\nUID:x\n", .propertyOutsideComponent),
        ("BEGIN:VTODO\nEND:VEVENT\n", .unmatchedEnd),
        ("END:VTODO\n", .unmatchedEnd),
        ("BEGIN:VCALENDAR\nBEGIN:VTODO\nEND:VTODO\n", .unclosedComponent),
    ] as [(String, ICalendarError.Reason)])
    func refusesMalformedText(_ text: String, _ reason: ICalendarError.Reason) {
        #expect(throws: ICalendarError.self) { try ICalReader.read(bytes(text)) }
        do {
            _ = try ICalReader.read(bytes(text))
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func refusesBytesThatAreNotUTF8() {
        let raw = bytes("BEGIN:VTODO\nSUMMARY:") + [0xFF, 0xFE] + bytes("\nEND:VTODO\n")
        #expect(throws: ICalendarError(.notUTF8, line: 2)) { try ICalReader.read(raw) }
        let overlong = bytes("BEGIN:VTODO\nSUMMARY:") + [0xC0, 0xAF] + bytes("\nEND:VTODO\n")
        #expect(throws: ICalendarError(.notUTF8, line: 2)) { try ICalReader.read(overlong) }
    }

    @Test func refusesNestingDeeperThanTheCap() {
        let depth = ICalReader.maximumDepth + 1
        let text = String(repeating: "BEGIN:X\n", count: depth) + String(repeating: "END:X\n", count: depth)
        #expect(throws: ICalendarError(.nestingTooDeep, line: depth)) { try ICalReader.read(bytes(text)) }
        let fits = String(repeating: "BEGIN:X\n", count: depth - 1) + String(repeating: "END:X\n", count: depth - 1)
        #expect((try? ICalReader.read(bytes(fits)))?.count == 1)
    }

    @Test func refusesMoreLinesThanTheCap() {
        let text = "BEGIN:VTODO\n" + String(repeating: "X-A:1\n", count: ICalReader.maximumLines) + "END:VTODO\n"
        #expect(throws: ICalendarError(.tooManyLines, line: ICalReader.maximumLines + 1)) { try ICalReader.read(bytes(text)) }
    }
}

@Suite("iCalendar writer")
struct ICalWriterTests {
    @Test func foldsLongLinesAt75OctetsWithoutSplittingACharacter() throws {
        let summary = String(repeating: "é", count: 100) + String(repeating: "a", count: 60)
        let component = ICalComponent(name: "VTODO", properties: [ICalProperty(name: "SUMMARY", text: summary)])
        let written = ICalWriter.write(component)
        let lines = written.split(separator: 0x0A).map { $0.dropLast() }
        for line in lines {
            #expect(line.count <= ICalWriter.maximumLineOctets)
            // Every physical line is valid UTF-8 on its own.
            #expect(String(validating: line, as: UTF8.self) != nil)
        }
        #expect(lines.count > 4)
        #expect(try ICalReader.read(written) == [component])
    }

    @Test func quotesParameterValuesThatNeedItAndRoundTrips() throws {
        let property = ICalProperty(name: "ATTENDEE", parameters: [ICalParameter(name: "CN", values: ["Doe, Jane"]),
                                                                 ICalParameter(name: "X-P", values: ["a:b", "c"])],
                                    value: "mailto:jane@example.com")
        let component = ICalComponent(name: "VTODO", properties: [property])
        let text = String(decoding: ICalWriter.write(component), as: UTF8.self)
        #expect(text.contains("ATTENDEE;CN=\"Doe, Jane\";X-P=\"a:b\",c:mailto:jane@example.com\r\n"))
        #expect(try ICalReader.read(Array(text.utf8)) == [component])
    }

    @Test func writesCRLFAndBeginEndAroundNestedComponents() {
        let alarm = ICalComponent(name: "VALARM", properties: [ICalProperty(name: "ACTION", value: "DISPLAY")])
        let todo = ICalComponent(name: "VTODO", properties: [ICalProperty(name: "UID", value: "1")], components: [alarm])
        #expect(String(decoding: ICalWriter.write(todo), as: UTF8.self)
            == "BEGIN:VTODO\r\nUID:1\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VTODO\r\n")
    }
}

@Suite("iCalendar TEXT values")
struct ICalTextTests {
    @Test func escapesAndUnescapes() {
        let text = "a\\b;c,d\ne\r\nf"
        #expect(ICalText.escape(text) == "a\\\\b\\;c\\,d\\ne\\nf")
        #expect(ICalText.unescape(ICalText.escape("a\\b;c,d\ne")) == "a\\b;c,d\ne")
        #expect(ICalText.unescape("x\\Ny") == "x\ny")
        // Clients escape characters RFC 5545 does not: kept as written, not lost.
        #expect(ICalText.unescape("a\\:b") == "a\\:b")
        #expect(ICalText.unescape("end\\") == "end\\")
    }

    @Test func splitsListsAtUnescapedCommasOnly() {
        let property = ICalProperty(name: "CATEGORIES", value: "work,home\\,garden,,x")
        #expect(property.textList == ["work", "home,garden", "", "x"])
    }
}

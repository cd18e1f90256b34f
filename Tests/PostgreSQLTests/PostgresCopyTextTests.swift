import PostgreSQL
import Testing

/// COPY's text format, both ways, without a server: what `copy` writes into PostgreSQL and
/// reads out of it.
struct PostgresCopyTextTests {
    /// The fields of `line` decoded: nil for NULL.
    func fields(_ line: String) -> [String?] {
        var row = PostgresCopyTextRow()
        Array(line.utf8).withUnsafeBufferPointer { row.decode($0) }
        return (0..<row.count).map { index in
            row.isNull(index) ? nil : row.withField(index) { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func fieldsSplitAtTabsAndBackslashNAloneIsNull() {
        #expect(fields("1\tabc\t\\N\t") == ["1", "abc", nil, ""])
        #expect(fields("") == [""])
        #expect(fields("\\N") == [nil])
        // `\N` only as a whole field: inside text it is the letter N.
        #expect(fields("\\Nx\tx\\N") == ["Nx", "xN"])
        // An escaped backslash followed by N is text.
        #expect(fields("\\\\N") == ["\\N"])
    }

    @Test func everyBackslashSequenceDecodes() {
        #expect(fields("a\\tb\\nc\\rd\\\\e") == ["a\tb\nc\rd\\e"])
        #expect(fields("\\b\\f\\v") == ["\u{08}\u{0C}\u{0B}"])
        #expect(fields("\\101\\7\\0101") == ["A\u{07}\u{08}1"])
        #expect(fields("\\x41\\x7e\\xZ") == ["A~xZ"])
        // Any other escaped character stands for itself; a lone trailing backslash is dropped.
        #expect(fields("\\q\\é") == ["qé"])
        #expect(fields("ab\\") == ["ab"])
    }

    @Test func whatTheWriterEscapesTheReaderRestores() {
        let values: [String?] = ["plain", "tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "", nil,
                                 "ünïcödé ✓ 😀", String(decoding: (1...255).map { UInt8($0) }.filter { $0 < 0x80 }, as: UTF8.self)]
        var writer = PostgresCopyText()
        for value in values { writer.field(value) }
        writer.endRow()
        #expect(writer.bytes.last == 0x0A)
        let line = String(decoding: writer.bytes.dropLast(), as: UTF8.self)
        #expect(!line.contains("\n") && !line.contains("\r"))
        #expect(fields(line) == values)
    }

    @Test func integersAndBooleansAreWrittenAsPostgreSQLReadsThem() {
        var writer = PostgresCopyText()
        writer.field(Int64.min)
        writer.field(nil as Int64?)
        writer.field(true)
        writer.field(false)
        writer.endRow()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "-9223372036854775808\t\\N\tt\tf\n")
    }
}

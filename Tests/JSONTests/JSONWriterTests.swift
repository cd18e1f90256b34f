import JSON
import Testing

@Suite("JSON writer: escaping runs, growth, in-place strings")
struct JSONWriterBufferTests {
    func written(capacity: Int = 256, _ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter(capacity: capacity)
        body(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func escapesWhatJSONForbidsAndCopiesTheRest() throws {
        let text = "a\"b\\c\nd\re\tf\u{8}g\u{C}h\u{1}i\u{1F}é😀/"
        let json = written { writer in writer.string(text) }
        #expect(json == #""a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fé😀/""#)
        // Read back by the service's own parser: the same string.
        #expect(try JSONParser().parse(Array(json.utf8)) == .string(text))
    }

    @Test func escapesAStringThatIsOnlyEscapes() {
        #expect(written { $0.string("\"\"") } == #""\"\"""#)
        #expect(written { $0.string("") } == #""""#)
    }

    @Test func growsPastItsCapacity() throws {
        let title = String(repeating: "x", count: 1000)
        let json = written(capacity: 16) { writer in
            writer.raw("[")
            for index in 0..<50 {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"n\":")
                writer.integer(Int64(index))
                writer.raw(",\"t\":")
                writer.string(title)
                writer.raw(",\"b\":")
                writer.bool(index % 2 == 0)
                writer.raw(",\"z\":")
                writer.null()
                writer.raw("}")
            }
            writer.raw("]")
        }
        guard case .array(let items) = try JSONParser().parse(Array(json.utf8)) else {
            Issue.record("not an array: \(json.prefix(80))")
            return
        }
        #expect(items.count == 50)
        #expect(items.last == .object(["n": .number(49), "t": .string(title), "b": .bool(false), "z": .null]))
    }

    @Test func unescapedStringWritesOnlyWhatItsFillReports() {
        let json = written(capacity: 16) { writer in
            writer.raw("[")
            writer.unescapedString(maximumBytes: 24) { buffer in
                for (index, byte) in "2026-12-04".utf8.enumerated() { buffer[index] = byte }
                return 10
            }
            writer.raw(",")
            writer.unescapedString(maximumBytes: 8) { _ in 0 }
            writer.raw("]")
        }
        #expect(json == #"["2026-12-04",""]"#)
    }

    @Test func rawUTF8IsCopiedAsIs() {
        let stored = Array(#"["a","b"]"#.utf8)
        #expect(written { writer in stored.withUnsafeBufferPointer { writer.raw(utf8: $0) } } == #"["a","b"]"#)
        #expect(written { writer in [UInt8]().withUnsafeBufferPointer { writer.raw(utf8: $0) } } == "")
    }
}

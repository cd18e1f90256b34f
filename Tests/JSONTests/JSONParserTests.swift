import JSON
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    let parser = JSONParser()

    func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parser.parse(Array(text.utf8))
    }

    func rejection(_ bytes: [UInt8]) -> JSONParseError.Kind? {
        do {
            _ = try parser.parse(bytes)
            return nil
        } catch {
            return error.kind
        }
    }

    func rejection(_ text: String) -> JSONParseError.Kind? {
        rejection(Array(text.utf8))
    }

    @Test func parsesEveryValueType() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {}} "#)
        #expect(value == .object([
            "a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x\né😀")]),
            "b": .object([:]),
        ]))
    }

    @Test func keepsEmbeddedNulAndAllEscapes() throws {
        #expect(try parse(#""\u0000\"\\\/\b\f\n\r\t""#) == .string("\u{0}\"\\/\u{8}\u{C}\n\r\t"))
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let deep = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try parse(deep) }
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(rejection(tooDeep) == .tooDeep)
        let deepObjects = String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)
        #expect(rejection(deepObjects) == .tooDeep)
    }

    @Test func rejectsDuplicateKeys() {
        #expect(rejection(#"{"alg":"none","alg":"HS256"}"#) == .duplicateKey)
        // Same key spelled with an escape is still the same key.
        #expect(rejection(#"{"a":1,"\u0061":2}"#) == .duplicateKey)
    }

    @Test func rejectsLoneSurrogates() {
        #expect(rejection(#""\ud800""#) == .loneSurrogate)
        #expect(rejection(#""\udc00""#) == .loneSurrogate)
        #expect(rejection(#""\ud800\u0041""#) == .loneSurrogate)
        #expect(rejection(#""\ud800x""#) == .loneSurrogate)
    }

    @Test func rejectsInvalidUTF8() {
        #expect(rejection([0x22, 0xFF, 0x22]) == .invalidUTF8)
        // Overlong encoding of "/" and a UTF-8-encoded surrogate.
        #expect(rejection([0x22, 0xC0, 0xAF, 0x22]) == .invalidUTF8)
        #expect(rejection([0x22, 0xED, 0xA0, 0x80, 0x22]) == .invalidUTF8)
        #expect(rejection([0x22, 0x5C, 0x6E, 0xFF, 0x22]) == .invalidUTF8)
    }

    @Test func rejectsNumbersOutsideDouble() {
        #expect(rejection("1e999") == .numberOutOfRange)
        #expect(rejection("-1e999") == .numberOutOfRange)
    }

    @Test(arguments: [
        "", " ", "01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity", "[1,]", "{\"a\":1,}",
        "{'a':1}", "{a:1}", "[1 2]", "\"abc", "\"a\tb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "tru", "nul",
        "{} {}", "[", "{\"a\"}", "{\"a\" 1}", "\u{FEFF}{}", "{\"a\":1}x",
    ])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(rejection(text) != nil)
    }

    @Test func parsesTenThousandKeys() throws {
        let members = (0..<10_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try parse("{\(members)}")
        #expect(value.objectValue?.count == 10_000)
        #expect(value.objectValue?["k9999"] == .number(9999))
    }

    @Test func reportsTheOffset() {
        do {
            _ = try parse("[1, x]")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.offset == 4)
        }
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func escapesStringsSoTheyParseBack() throws {
        let nasty = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} unicode é 😀 \u{2028}"
        var writer = JSONWriter()
        writer.string(nasty)
        #expect(String(decoding: writer.bytes, as: UTF8.self)
            == #""quote\" backslash\\ newline\n tab\t nul\u0000 bell\u0007 unicode é 😀 "# + "\u{2028}\"")
        #expect(try JSONParser().parse(writer.bytes) == .string(nasty))
    }

    @Test(arguments: [Int64.min, -1, 0, 7, 10, 99, 100, 1_234_567_890, Int64.max])
    func writesIntegers(_ value: Int64) {
        var writer = JSONWriter()
        writer.integer(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
    }

    @Test func writesLiterals() {
        var writer = JSONWriter()
        writer.raw("[")
        writer.bool(true)
        writer.raw(",")
        writer.bool(false)
        writer.raw(",")
        writer.null()
        writer.raw("]")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[true,false,null]")
    }
}

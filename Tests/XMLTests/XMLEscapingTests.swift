import Testing
import XML

/// The writer's escaping: word-at-a-time scans must find every special byte wherever it falls.
@Suite("XML escaping")
struct XMLEscapingTests {
    static let references: [UInt8: String] = [0x26: "&amp;", 0x3C: "&lt;", 0x3E: "&gt;", 0x22: "&quot;", 0x27: "&apos;"]

    /// What escaping must give, one byte at a time.
    static func expected(_ bytes: [UInt8]) -> [UInt8] {
        bytes.flatMap { references[$0].map { Array($0.utf8) } ?? [$0] }
    }

    @Test func everyByteIsEscapedOnlyWhenSpecial() {
        for byte in UInt8.min...UInt8.max {
            var output: [UInt8] = []
            XMLEscaping.append([byte], to: &output)
            #expect(output == Self.expected([byte]), "byte \(byte)")
        }
    }

    /// A special byte at each offset of texts longer than two words, alone and in pairs.
    @Test func findsASpecialByteAtEveryOffset() {
        for special in Self.references.keys {
            for length in [1, 7, 8, 9, 15, 16, 17, 31] {
                for position in 0..<length {
                    var text = Array(repeating: UInt8(ascii: "a"), count: length)
                    text[position] = special
                    if position + 3 < length { text[position + 3] = UInt8(ascii: "<") }
                    var appended: [UInt8] = []
                    XMLEscaping.append(text, to: &appended)
                    #expect(appended == Self.expected(text), "\(special) at \(position) of \(length)")
                    var inPlace = Array("<x>".utf8)
                    inPlace += text
                    XMLEscaping.escapeAppended(&inPlace, from: 3)
                    #expect(inPlace == Array("<x>".utf8) + Self.expected(text), "in place: \(special) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func bytesNearTheSpecialOnesAreLeftAlone() {
        // Each special byte ± 1 and its high-bit twin: the word test must not take them for it.
        let neighbours = Self.references.keys.flatMap { [$0 &- 1, $0 &+ 1, $0 | 0x80] }.filter { Self.references[$0] == nil }
        let text = Array(repeating: neighbours, count: 3).flatMap { $0 }
        var output: [UInt8] = []
        XMLEscaping.append(text, to: &output)
        #expect(output == text)
        var inPlace = text
        XMLEscaping.escapeAppended(&inPlace, from: 0)
        #expect(inPlace == text)
    }

    @Test func escapeAppendedLeavesWhatCameBeforeAsItIs() {
        var output = Array("<a href=\"x\">".utf8)
        let start = output.count
        output += Array("BEGIN:VTODO\r\nSUMMARY:Tom & Jerry's <\"show\">\r\n".utf8)
        XMLEscaping.escapeAppended(&output, from: start)
        #expect(String(decoding: output, as: UTF8.self)
            == "<a href=\"x\">BEGIN:VTODO\r\nSUMMARY:Tom &amp; Jerry&apos;s &lt;&quot;show&quot;&gt;\r\n")
        XMLEscaping.escapeAppended(&output, from: output.count)
        #expect(output.count == start + 70)
    }

    @Test func escapeReturnsPlainTextAsItIs() {
        #expect(XMLEscaping.escape("plain text ✓") == "plain text ✓")
        #expect(XMLEscaping.escape("a<b") == "a&lt;b")
    }
}

import ASCII
import Testing

@Suite("ASCII decimal")
struct ASCIIDecimalTests {
    @Test(arguments: [("0", 0), ("7", 7), ("007", 7), ("9223372036854775807", Int64.max)] as [(String, Int64)])
    func parsesDigits(_ text: String, _ value: Int64) {
        #expect(ASCIIDecimal.parse(text.utf8) == value)
    }

    @Test(arguments: ["", "-1", "+1", " 1", "1 ", "1a", "١", "9223372036854775808", "99999999999999999999"])
    func refusesAnythingElse(_ text: String) {
        #expect(ASCIIDecimal.parse(text.utf8) == nil)
    }

    @Test func signedAcceptsOneLeadingMinus() {
        #expect(ASCIIDecimal.parseSigned("-12".utf8) == -12)
        #expect(ASCIIDecimal.parseSigned("12".utf8) == 12)
        #expect(ASCIIDecimal.parseSigned("--1".utf8) == nil)
        #expect(ASCIIDecimal.parseSigned("-9223372036854775808".utf8) == Int64.min)
        #expect(ASCIIDecimal.parseSigned("-9223372036854775809".utf8) == nil)
        #expect(ASCIIDecimal.parseSigned("-".utf8) == nil)
        #expect(ASCIIDecimal.parseSigned("1-".utf8) == nil)
    }
}

@Suite("ASCII hex and spaces")
struct ASCIIHexTests {
    @Test func digitValuesOfBothCases() {
        #expect(ASCIIHex.value(of: UInt8(ascii: "0")) == 0)
        #expect(ASCIIHex.value(of: UInt8(ascii: "a")) == 10)
        #expect(ASCIIHex.value(of: UInt8(ascii: "F")) == 15)
        #expect(ASCIIHex.value(of: UInt8(ascii: "g")) == nil)
        #expect(ASCIIHex.value(of: UInt8(ascii: "/")) == nil)
    }

    @Test func encodesLowercasePairs() {
        #expect(ASCIIHex.encode([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
    }

    @Test func trimsSpacesAndTabsOnly() {
        #expect(" \t a b \t ".dropFirst(0).trimmingASCIISpaces == "a b")
        #expect("\na\n".dropFirst(0).trimmingASCIISpaces == "\na\n")
        #expect(" \t ".dropFirst(0).trimmingASCIISpaces.isEmpty && "".dropFirst(0).trimmingASCIISpaces.isEmpty)
        #expect(" é\u{301} ".dropFirst(0).trimmingASCIISpaces == "é\u{301}")
        #expect("x  y".dropFirst(1).dropLast(1).trimmingASCIISpaces.isEmpty)
    }
}

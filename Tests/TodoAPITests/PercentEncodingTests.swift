import Testing
import TaskModel
@testable import TodoAPI

@Suite("Percent encoding")
struct PercentEncodingTests {
    @Test func encodesEverythingOutsideUnreserved() {
        #expect(PercentDecoding.encodePathSegment("a/b c\r\n%é~._-".utf8) == "a%2Fb%20c%0D%0A%25%C3%A9~._-")
        #expect(PercentDecoding.encodePathSegment("x@h:1;a=b,c".utf8) == "x%40h%3A1%3Ba%3Db%2Cc")
    }

    /// CalDAV hrefs keep what a path segment allows besides the unreserved set, and still encode
    /// what would end or split a segment or a header.
    @Test func keepsSubDelimitersWhenAsked() {
        #expect(PercentDecoding.encodePathSegment("x@h:1;a=b,c!$'()*+".utf8, keepingSubDelimiters: true) == "x@h:1;a=b,c!$'()*+")
        #expect(PercentDecoding.encodePathSegment("a/b c?#%\r\né".utf8, keepingSubDelimiters: true) == "a%2Fb%20c%3F%23%25%0D%0A%C3%A9")
    }

    @Test func decodesStrictly() {
        #expect(PercentDecoding.decode("a%2fb+c".utf8) == Array("a/b+c".utf8))
        #expect(PercentDecoding.decode("a+c".utf8, plusAsSpace: true) == Array("a c".utf8))
        #expect(PercentDecoding.decode("%".utf8) == nil)
        #expect(PercentDecoding.decode("%4".utf8) == nil)
        #expect(PercentDecoding.decode("%G0".utf8) == nil)
    }
}

/// Every byte, against the sets RFC 3986 names, in both modes; and back through the decoder.
@Suite("Percent encoding of every byte")
struct PercentEncodingEveryByteTests {
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
    static let pathSubDelimiters = Set("!$'()*+,;=:@".utf8)

    @Test func eachByteIsKeptExactlyWhenItsSetAllowsIt() {
        for byte in UInt8.min...UInt8.max {
            let escaped = "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            let plain = PercentDecoding.encodePathSegment([byte])
            #expect(plain == (Self.unreserved.contains(byte) ? String(UnicodeScalar(byte)) : escaped), "byte \(byte)")
            let segment = PercentDecoding.encodePathSegment([byte], keepingSubDelimiters: true)
            let kept = Self.unreserved.contains(byte) || Self.pathSubDelimiters.contains(byte)
            #expect(segment == (kept ? String(UnicodeScalar(byte)) : escaped), "byte \(byte), keeping sub-delimiters")
        }
    }

    @Test func everyByteComesBackThroughTheDecoder() {
        let all = Array(UInt8.min...UInt8.max)
        for keeping in [false, true] {
            let encoded = PercentDecoding.encodePathSegment(all, keepingSubDelimiters: keeping)
            #expect(PercentDecoding.decode(encoded.utf8) == all)
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

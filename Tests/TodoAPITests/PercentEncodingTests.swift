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

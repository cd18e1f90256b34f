import Testing
import TaskModel
@testable import TodoAPI

@Suite("Percent encoding")
struct PercentEncodingTests {
    @Test func encodesEverythingOutsideUnreserved() {
        #expect(PercentDecoding.encodePathSegment("a/b c\r\n%é~._-".utf8) == "a%2Fb%20c%0D%0A%25%C3%A9~._-")
    }

    @Test func decodesStrictly() {
        #expect(PercentDecoding.decode("a%2fb+c".utf8) == Array("a/b+c".utf8))
        #expect(PercentDecoding.decode("a+c".utf8, plusAsSpace: true) == Array("a c".utf8))
        #expect(PercentDecoding.decode("%".utf8) == nil)
        #expect(PercentDecoding.decode("%4".utf8) == nil)
        #expect(PercentDecoding.decode("%G0".utf8) == nil)
    }
}

import Testing
@testable import Dispatcher

@Suite("FastCGI framing")
struct FastCGIFramingTests {
    func scan(_ bytes: [UInt8], cap: Int = 1 << 20) -> FastCGIFraming.Extent {
        bytes.withUnsafeBytes { FastCGIFraming.scan($0, maximumParamsBytes: cap) }
    }

    @Test func aWholeRequestEndsAtItsEmptyStandardInputRecord() {
        let request = fastCGIRequest("tag", body: Array(repeating: 1, count: 100))
        #expect(scan(request) == .complete(byteCount: request.count))
        #expect(scan(request + fastCGIRequest("next", id: 2)) == .complete(byteCount: request.count))
        for cut in [0, 7, 8, 16, 30, request.count - 8, request.count - 1] {
            #expect(scan(Array(request.prefix(cut))) == .incomplete, "cut at \(cut)")
        }
    }

    @Test func managementAndOtherRequestsRecordsAreSkipped() {
        // FCGI_GET_VALUES (request id 0) first, then a stray record of request 9.
        let management: [UInt8] = [1, 9, 0, 0, 0, 0, 0, 0]
        let stray: [UInt8] = [1, 5, 0, 9, 0, 0, 0, 0]
        let request = fastCGIRequest("tag")
        #expect(scan(management + stray + request) == .complete(byteCount: 16 + request.count))
    }

    @Test func anEmptyStandardInputBeforeTheParamsEndDoesNotEndTheRequest() {
        let request = fastCGIRequest("tag")
        let begin = Array(request.prefix(16))
        let early: [UInt8] = [1, 5, 0, 1, 0, 0, 0, 0]
        #expect(scan(begin + early) == .incomplete)
    }

    @Test func refusals() {
        #expect(scan(Array("GET / HTTP/1.1\r\n".utf8)) == .malformed("FastCGI version 71 (only 1 exists)"))
        #expect(scan([1, 1, 0, 0, 0, 8, 0, 0]) == .malformed("a request with id 0"))
        let begin = Array(fastCGIRequest("tag").prefix(16))
        // Announced params over the cap are refused at the header, before their bytes arrive.
        #expect(scan(begin + [1, 4, 0, 1, 0xFF, 0xF8, 0, 0], cap: 60_000) == .paramsTooLarge(65_528))
        let manySmall = (0..<5).flatMap { _ in [1, 4, 0, 1, 0, 200, 0, 0] + [UInt8](repeating: 0, count: 200) as [UInt8] }
        #expect(scan(begin + manySmall, cap: 900) == .paramsTooLarge(1000))
    }
}

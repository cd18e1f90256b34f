import Testing
@testable import FastCGI

/// The records a detached request's answer is framed in, as libfcgi frames one (FastCGI 1.0 §5.3, §5.5).
@Suite struct DetachedFastCGIRequestTests {
    /// (type, request id, content) of each record, checking lengths and padding on the way.
    func parse(_ bytes: [UInt8]) -> [(UInt8, UInt16, [UInt8])] {
        var records: [(UInt8, UInt16, [UInt8])] = []
        var offset = 0
        while offset < bytes.count {
            #expect(bytes[offset] == 1, "version 1")
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let padding = Int(bytes[offset + 6])
            #expect((length + padding) % 8 == 0)
            let id = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
            records.append((bytes[offset + 1], id, Array(bytes[offset + 8..<offset + 8 + length])))
            offset += 8 + length + padding
        }
        #expect(offset == bytes.count)
        return records
    }

    @Test func aLargeAnswerIsSplitIntoStdoutRecordsThenTheEmptyOneThenEndRequest() {
        // In parts, as a response is (CGI header, body), cut across a record's end.
        let content = (0..<70_001).map { UInt8(truncatingIfNeeded: $0) }
        let records = parse(FastCGIRecord.answer(requestID: 0x0102, parts: [Array(content[..<100]), [], Array(content[100...])]))
        #expect(records.map(\.0) == [6, 6, 6, 3])
        #expect(records.allSatisfy { $0.1 == 0x0102 })
        #expect(records[0].2.count == FastCGIRecord.contentLimit)
        #expect(records[0].2 + records[1].2 == content)
        #expect(records[2].2.isEmpty)
        #expect(records[3].2 == [0, 0, 0, 0, 0, 0, 0, 0])  // application status 0, FCGI_REQUEST_COMPLETE
    }

    @Test func anEmptyAnswerIsTheEmptyStdoutRecordAndEndRequest() {
        let records = parse(FastCGIRecord.answer(requestID: 1, parts: [[], []]))
        #expect(records.map(\.0) == [6, 3])
    }
}

import FastCGI

/// How much of one FastCGI request a peer has sent, read from the record headers alone.
///
/// The dispatcher hands a connection to a worker thread only once its whole request is in the
/// socket's receive buffer, so libfcgi's blocking reads on the worker never wait for a peer:
/// a peer that sends slowly, or stops, holds a descriptor and a little memory, never a thread.
/// It reads only the 8-byte record headers (FastCGI 1.0, §3.3) and never the content.
enum FastCGIFraming {
    /// What a buffer holds of its first request.
    enum Extent: Equatable {
        /// The whole request (through its empty `FCGI_STDIN` record) in the first `byteCount` bytes.
        case complete(byteCount: Int)
        /// A prefix of a request: more bytes must arrive.
        case incomplete
        /// Not FastCGI (a record of another protocol version, a request id 0 begin): close.
        case malformed(String)
        /// Parameters beyond the cap: close before reading them.
        case paramsTooLarge(Int)
    }

    /// Scans `bytes` from the start for the first request's records.
    static func scan(_ bytes: UnsafeRawBufferPointer, maximumParamsBytes: Int) -> Extent {
        var offset = 0
        var requestID: Int?
        var paramsBytes = 0
        var paramsEnded = false
        while let header = FastCGIRecord.header(at: offset, of: bytes) {
            guard header.version == FastCGIRecord.version else { return .malformed("FastCGI version \(header.version) (only 1 exists)") }
            let recordEnd = offset + header.recordLength
            let kind = FastCGIRecord.Kind(rawValue: header.type)
            if kind == .beginRequest, requestID == nil {
                guard header.requestID != 0 else { return .malformed("a request with id 0") }
                requestID = header.requestID
            } else if header.requestID == requestID, kind == .params {
                // Counted when the header arrives, so a huge announcement is refused before its bytes.
                paramsBytes += header.contentLength
                guard paramsBytes <= maximumParamsBytes else { return .paramsTooLarge(paramsBytes) }
                if header.contentLength == 0 { paramsEnded = true }
            } else if header.requestID == requestID, kind == .standardInput, header.contentLength == 0, paramsEnded {
                return recordEnd <= bytes.count ? .complete(byteCount: recordEnd) : .incomplete
            }
            offset = recordEnd
        }
        return .incomplete
    }
}

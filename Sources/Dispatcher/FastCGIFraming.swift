/// How much of one FastCGI request a peer has sent, read from the record headers alone.
///
/// The dispatcher hands a connection to a worker thread only once its whole request is in the
/// socket's receive buffer, so libfcgi's blocking reads on the worker never wait for a peer:
/// a peer that sends slowly, or stops, holds a descriptor and a little memory, never a thread.
/// It reads only the 8-byte record headers (FastCGI 1.0, §3.3) and never the content.
enum FastCGIFraming {
    /// `FCGI_BEGIN_REQUEST`, `FCGI_PARAMS`, `FCGI_STDIN`.
    static let beginRequest: UInt8 = 1, params: UInt8 = 4, standardInput: UInt8 = 5
    /// The record header's length.
    static let headerLength = 8

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
        while offset + headerLength <= bytes.count {
            guard bytes[offset] == 1 else { return .malformed("FastCGI version \(bytes[offset]) (only 1 exists)") }
            let type = bytes[offset + 1]
            let id = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let recordEnd = offset + headerLength + length + Int(bytes[offset + 6])
            if type == beginRequest, requestID == nil {
                guard id != 0 else { return .malformed("a request with id 0") }
                requestID = id
            } else if id == requestID, type == params {
                // Counted when the header arrives, so a huge announcement is refused before its bytes.
                paramsBytes += length
                guard paramsBytes <= maximumParamsBytes else { return .paramsTooLarge(paramsBytes) }
                if length == 0 { paramsEnded = true }
            } else if id == requestID, type == standardInput, length == 0, paramsEnded {
                return recordEnd <= bytes.count ? .complete(byteCount: recordEnd) : .incomplete
            }
            offset = recordEnd
        }
        return .incomplete
    }
}

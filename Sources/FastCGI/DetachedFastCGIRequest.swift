#if canImport(Glibc)
import Glibc
#endif

/// A request read by a `FastCGIRequest` slot and answered later, from any thread, without the
/// slot: only its connection and FastCGI request id are kept (libfcgi's stream buffers and
/// parameters were freed by `FastCGIRequest.detach`), so a request waiting for minutes costs a
/// few bytes here instead of a slot. The answer is framed here as libfcgi frames one: the
/// response's bytes as `FCGI_STDOUT` records, an empty one, then `FCGI_END_REQUEST`
/// (application status 0, `FCGI_REQUEST_COMPLETE`).
public struct DetachedFastCGIRequest: Sendable {
    /// The connection to the web server; owned by this value until `respond` or `abandon`.
    public let descriptor: Int32
    /// The FastCGI request id the web server gave the request.
    let requestID: UInt16
    /// Whether the connection stays open after the answer (the web server's `FCGI_KEEP_CONN`,
    /// and the caller's say).
    let keepsConnection: Bool

    /// A request on connection `descriptor` with id `requestID` (`FastCGIRequest.detach` makes
    /// them; tests make their own over a socket pair).
    public init(descriptor: Int32, requestID: UInt16, keepsConnection: Bool) {
        self.descriptor = descriptor
        self.requestID = requestID
        self.keepsConnection = keepsConnection
    }

    /// The most content bytes one record carries: under the 16-bit length, a multiple of 8 (no padding needed).
    static let recordContentLimit = 65_528

    /// Writes `parts` (the CGI header, then the body) as the request's answer and ends it.
    /// Returns the connection when it stays open; otherwise it is closed and nil returned (also
    /// when the write failed: the web server went away).
    public func respond(_ parts: [[UInt8]]) -> Int32? {
        let records = Self.records(requestID: requestID, content: parts.flatMap { $0 })
        let written = records.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        guard written, keepsConnection else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Ends the request unanswered (its web server went away): closes the connection.
    public func abandon() {
        close(descriptor)
    }

    /// `content` as `FCGI_STDOUT` records, the empty one that ends the stream, and `FCGI_END_REQUEST`.
    static func records(requestID: UInt16, content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count + (content.count / recordContentLimit + 3) * 8 + 8)
        func header(_ type: UInt8, _ length: Int, padding: Int = 0) {
            out += [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF), UInt8(padding), 0]
        }
        var offset = 0
        while offset < content.count {
            let length = min(recordContentLimit, content.count - offset)
            let padding = (8 - length % 8) % 8
            header(6, length, padding: padding)
            out += content[offset..<offset + length]
            out += [UInt8](repeating: 0, count: padding)
            offset += length
        }
        header(6, 0)
        header(3, 8)
        out += [0, 0, 0, 0, 0, 0, 0, 0]  // application status 0, FCGI_REQUEST_COMPLETE, reserved
        return out
    }
}

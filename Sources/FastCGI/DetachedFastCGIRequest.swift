#if canImport(Glibc)
import Glibc
#endif

/// A request read by a `FastCGIRequest` slot and answered later, from any thread, without the
/// slot: only its connection and FastCGI request id are kept (libfcgi's stream buffers and
/// parameters were freed by `FastCGIRequest.detach`), so a request waiting for minutes costs a
/// few bytes here instead of a slot. The answer is framed as libfcgi frames one
/// (`FastCGIRecord.answer`).
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

    /// Writes `parts` (the CGI header, then the body) as the request's answer and ends it.
    /// Returns the connection when it stays open; otherwise it is closed and nil returned (also
    /// when the write failed: the web server went away).
    public func respond(_ parts: [[UInt8]]) -> Int32? {
        let records = FastCGIRecord.answer(requestID: requestID, parts: parts)
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
}

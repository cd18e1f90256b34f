import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// One thread's FastCGI request slot: accept, read parameters and body, write, finish.
///
/// Not Sendable: libfcgi's request state belongs to the thread that accepts
/// on it. Parameter and body bytes are valid only until the next `accept()`
/// or `finish()`, so callers copy what they keep.
public final class FastCGIRequest {
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var isActive = false
    /// Reused for every body read, so a request costs no buffer allocation.
    private var chunk = [UInt8](repeating: 0, count: 16384)

    /// Prepares a request slot that accepts on `socket`.
    public init(socket: Int32) throws(FastCGIError) {
        request = .allocate(capacity: 1)
        let result = FCGX_InitRequest(request, socket, Int32(FCGI_FAIL_ACCEPT_ON_INTR))
        guard result == 0 else {
            request.deallocate()
            throw FastCGIError("FCGX_InitRequest", code: result)
        }
    }

    deinit {
        if isActive { FCGX_Finish_r(request) }
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// Waits for the next request. Throws when accepting fails, which includes
    /// being interrupted by a signal (the caller decides whether to stop).
    public func accept() throws(FastCGIError) {
        let result = FCGX_Accept_r(request)
        guard result >= 0 else { throw FastCGIError("FCGX_Accept_r", code: result) }
        isActive = true
    }

    /// Calls `body` with each parameter's name and value bytes (no `=`, no NUL).
    public func forEachParameter(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> Void) {
        guard var entry = request.pointee.envp else { return }
        while let pair = entry.pointee {
            let raw = UnsafeRawPointer(pair).assumingMemoryBound(to: UInt8.self)
            let length = strlen(pair)
            var separator = 0
            while separator < length, raw[separator] != UInt8(ascii: "=") { separator += 1 }
            let name = UnsafeBufferPointer(start: raw, count: separator)
            let valueStart = min(separator + 1, length)
            let value = UnsafeBufferPointer(start: raw + valueStart, count: length - valueStart)
            body(name, value)
            entry += 1
        }
    }

    /// Whether a kept-alive connection from the web server is still open on this slot: the
    /// next `accept()` then waits for a request on it instead of accepting a new connection.
    public var holdsKeptConnection: Bool { request.pointee.ipcFd >= 0 }

    /// What a kept-alive connection has for us.
    public enum KeptConnectionState: Sendable {
        /// No kept connection: the next `accept()` takes a new connection.
        case none
        /// Bytes of the next request are waiting.
        case requestPending
        /// The web server closed the connection.
        case closedByPeer
        /// Nothing yet: the wait timed out or was interrupted by a signal.
        case idle
    }

    /// Waits up to `timeoutMilliseconds` (-1: no limit) for the kept-alive connection to have a
    /// request or be closed. Unlike a blocked `accept()`, this wait consumes nothing, so a
    /// signal may interrupt it at any time without losing a request nginx has just sent.
    public func waitOnKeptConnection(timeoutMilliseconds: Int32) -> KeptConnectionState {
        let descriptor = request.pointee.ipcFd
        guard descriptor >= 0 else { return .none }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, timeoutMilliseconds) > 0 else { return .idle }
        var byte: UInt8 = 0
        let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if peeked > 0 { return .requestPending }
        if peeked < 0, errno == EAGAIN || errno == EINTR { return .idle }
        return .closedByPeer
    }

    /// Reads the whole request body. Bytes past `limit` are read and discarded,
    /// so the connection stays in sync; `exceededLimit` reports that it happened.
    public func readBody(limit: Int, expected: Int) -> (bytes: [UInt8], exceededLimit: Bool) {
        var body: [UInt8] = []
        body.reserveCapacity(min(max(expected, 0), limit))
        var exceeded = false
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                FCGX_GetStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), request.pointee.in)
            }
            guard count > 0 else { break }
            if !exceeded {
                if body.count + Int(count) > limit {
                    exceeded = true
                    body.removeAll()
                } else {
                    body.append(contentsOf: chunk[..<Int(count)])
                }
            }
        }
        return (body, exceeded)
    }

    /// Writes response bytes (CGI headers, blank line, body) to the web server.
    public func write(_ bytes: [UInt8]) throws(FastCGIError) {
        let written = bytes.withUnsafeBytes { buffer in
            FCGX_PutStr(buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buffer.count), request.pointee.out)
        }
        guard written == bytes.count else { throw FastCGIError("FCGX_PutStr", code: written) }
    }

    /// Completes the request: flushes output and ends it for the web server.
    public func finish() {
        guard isActive else { return }
        isActive = false
        FCGX_Finish_r(request)
    }
}

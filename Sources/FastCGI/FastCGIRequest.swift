import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// One thread's FastCGI request slot: read a request from a connection, read parameters and
/// body, write, finish, and give the connection back when the web server keeps it open.
///
/// Accepting connections is not libfcgi's job here (see `Dispatcher`): the slot is handed a
/// connection whose request has arrived. This relies on three things libfcgi 2.4 does, which
/// `FCGX_Request`'s "don't use anything below here" fields expose:
/// - `FCGX_Accept_r` accepts on `listen_sock` only when `ipcFd < 0`; with `ipcFd` set it reads the
///   next request from that connection (the path libfcgi itself takes for a kept connection).
/// - It first calls `FCGX_Finish_r`, which closes `ipcFd` unless `keepConnection` is set, so
///   `keepConnection` is set before handing the connection in.
/// - When reading fails (the peer closed, or sent no valid request), it closes the connection and
///   loops to accept on `listen_sock`; the slot's `listen_sock` is -1, so that accept fails at once
///   with EBADF and the call returns an error instead of blocking on some socket.
/// After `FCGX_Finish_r`, `ipcFd` is still open exactly when the web server asked to keep the
/// connection (`FCGI_KEEP_CONN`); `finish()` takes it out of the slot and returns it.
///
/// Not Sendable: libfcgi's request state belongs to the thread that uses it. Parameter and body
/// bytes are valid only until the next `read(from:)` or `finish()`, so callers copy what they keep.
public final class FastCGIRequest {
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var isActive = false
    /// Reused for every body read, so a request costs no buffer allocation.
    private var chunk = [UInt8](repeating: 0, count: 16384)

    /// Prepares a request slot; it never accepts connections itself.
    public init() throws(FastCGIError) {
        request = .allocate(capacity: 1)
        let result = FCGX_InitRequest(request, -1, 0)
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

    /// Reads the begin record and parameters of the request waiting on `connection`, which the
    /// slot owns from now on. On failure libfcgi has already closed the connection.
    public func read(from connection: Int32) throws(FastCGIError) {
        precondition(!isActive && request.pointee.ipcFd < 0, "finish() the previous request first")
        request.pointee.ipcFd = connection
        request.pointee.keepConnection = 1
        request.pointee.detached = 0
        let result = FCGX_Accept_r(request)
        guard result >= 0 else {
            request.pointee.ipcFd = -1
            throw FastCGIError("FCGX_Accept_r", code: result)
        }
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

    /// Lets go of the current request without answering it: libfcgi's buffers and parameters are
    /// freed (`FCGX_Free` without closing), the slot is ready for the next `read(from:)`, and the
    /// connection and request id move to the value returned, which answers from any thread.
    /// Call only after the body was read to its end (nothing of the request is left unread).
    /// `keepConnection: false` closes the connection after that answer whatever nginx asked.
    public func detach(keepConnection: Bool = true) -> DetachedFastCGIRequest {
        precondition(isActive, "detach() needs a request read")
        isActive = false
        let detached = DetachedFastCGIRequest(descriptor: request.pointee.ipcFd,
                                              requestID: UInt16(truncatingIfNeeded: request.pointee.requestId),
                                              keepsConnection: keepConnection && request.pointee.keepConnection != 0)
        FCGX_Free(request, 0)
        request.pointee.ipcFd = -1
        return detached
    }

    /// Writes response bytes (CGI headers, blank line, body) to the web server.
    public func write(_ bytes: [UInt8]) throws(FastCGIError) {
        let written = bytes.withUnsafeBytes { buffer in
            FCGX_PutStr(buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buffer.count), request.pointee.out)
        }
        guard written == bytes.count else { throw FastCGIError("FCGX_PutStr", code: written) }
    }

    /// Whether libfcgi read bytes past this request's end (a request the peer pipelined after
    /// it): call after the body was read to its end.
    public var hasUnreadInput: Bool {
        isActive && todo_fcgx_unread_input(request.pointee.in) > 0
    }

    /// Completes the request: flushes the output and ends it for the web server. Returns the
    /// connection when the web server asked to keep it open and `keepConnection` allows it (the
    /// caller owns it from then on), nil when libfcgi closed it.
    public func finish(keepConnection: Bool = true) -> Int32? {
        guard isActive else { return nil }
        isActive = false
        if !keepConnection { request.pointee.keepConnection = 0 }
        FCGX_Finish_r(request)
        let kept = request.pointee.ipcFd
        guard kept >= 0 else { return nil }
        request.pointee.ipcFd = -1
        return kept
    }
}

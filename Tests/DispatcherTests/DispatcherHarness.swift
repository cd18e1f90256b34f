@testable import Dispatcher

import Clocks

#if canImport(Glibc)
import Glibc
#endif

/// A dispatcher on a real listening socket (a unix socket in /tmp, or TCP on 127.0.0.1), its
/// loop running on its own thread, and blocking client sockets to talk to it.
final class DispatcherHarness: @unchecked Sendable {
    let dispatcher: ConnectionDispatcher
    let listener: Int32
    private let path: String?
    private let port: UInt16
    private var loop: pthread_t?
    private var clients: [Int32] = []

    init(settings: DispatcherSettings = DispatcherSettings(), tcp: Bool = false,
         notifiers: [Int32: @Sendable () -> Void] = [:],
         clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nanoseconds) throws {
        // A client writing to a connection the dispatcher closed gets EPIPE, not a fatal signal.
        signal(SIGPIPE, SIG_IGN)
        let listener: Int32
        if tcp {
            listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
            port = UInt16(bigEndian: address.sin_port)
            path = nil
        } else {
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let name = "/tmp/todo-dispatcher-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
            var address = Self.unixAddress(name)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            path = name
            port = 0
        }
        guard listen(listener, 512) == 0 else { throw SystemCallError("listen", errorNumber: errno) }
        self.listener = listener
        dispatcher = try ConnectionDispatcher(listeningSockets: [listener], settings: settings, notifiers: notifiers,
                                                 clock: clock, log: { _ in })
    }

    deinit {
        for client in clients { close(client) }
        close(listener)
        if let path { unlink(path) }
    }

    /// Starts the dispatcher loop on its own thread.
    func start() {
        let dispatcher = self.dispatcher
        loop = startThread { try? dispatcher.run() }
    }

    /// Stops the dispatcher and waits for its loop to return; returns the seconds that took.
    @discardableResult
    func stop(graceSeconds: Double) -> Double {
        let before = MonotonicClock.nanoseconds()
        dispatcher.stop(graceSeconds: graceSeconds)
        if let loop { pthread_join(loop, nil) }
        loop = nil
        return Double(MonotonicClock.nanoseconds() - before) / 1e9
    }

    /// A connected client socket (blocking, 2 s receive timeout).
    func connectClient() -> Int32 {
        let client: Int32
        if path != nil {
            client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.unixAddress(path!)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        } else {
            client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        clients.append(client)
        return client
    }

    /// Waits up to two seconds for `condition` on the dispatcher's statistics.
    func eventually(_ condition: (ConnectionDispatcher.Statistics) -> Bool) -> Bool {
        for _ in 0..<400 {
            if condition(dispatcher.currentStatistics) { return true }
            usleep(5000)
        }
        return condition(dispatcher.currentStatistics)
    }

    /// The next ready connection, or nil when none is queued within two seconds (never blocks
    /// for longer, so a failing test fails instead of hanging).
    func nextReady() -> ReadyConnection? {
        guard eventually({ $0.queued > 0 }) else { return nil }
        return dispatcher.nextConnection()
    }

    private static func unixAddress(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        return address
    }
}

/// A whole FastCGI request as nginx frames it (begin, params, empty params, stdin, empty
/// stdin), with `tag` as the value of its one parameter `T`.
func fastCGIRequest(_ tag: String, id: UInt16 = 1, body: [UInt8] = []) -> [UInt8] {
    func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        let padding = (8 - content.count % 8) % 8
        return [1, type, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), UInt8(padding), 0]
            + content + [UInt8](repeating: 0, count: padding)
    }
    let value = Array(tag.utf8)
    precondition(value.count < 128)
    let params: [UInt8] = [1, UInt8(value.count), UInt8(ascii: "T")] + value
    return record(1, [0, 1, 1, 0, 0, 0, 0, 0]) + record(4, params) + record(4, []) + (body.isEmpty ? [] : record(5, body)) + record(5, [])
}

/// Sends a FastCGI request tagged `tag` on `fd`.
func sendRequest(_ tag: String, on fd: Int32) {
    var bytes = fastCGIRequest(tag)
    _ = write(fd, &bytes, bytes.count)
}

/// Reads one FastCGI request of `fastCGIRequest` from `fd` and returns its tag; nil on timeout
/// or error, "" at end of stream.
func receiveRequest(from fd: Int32) -> String? {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = read(fd, &buffer, buffer.count)
    guard count >= 0 else { return nil }
    guard count >= 27 else { return "" }
    let length = Int(buffer[16 + 9])
    return String(decoding: buffer[(16 + 11)..<(16 + 11 + length)], as: UTF8.self)
}

/// Whether the other end closed `fd`: end of stream, or a reset (a connection closed with bytes
/// it never read is reset).
func isClosed(_ fd: Int32) -> Bool {
    var byte: UInt8 = 0
    let count = read(fd, &byte, 1)
    return count == 0 || (count < 0 && errno == ECONNRESET)
}

/// Sends `bytes` on `fd`.
func send(bytes: [UInt8], on fd: Int32) {
    var bytes = bytes
    _ = write(fd, &bytes, bytes.count)
}

/// Sends `text` on `fd`.
func send(_ text: String, on fd: Int32) {
    var bytes = Array(text.utf8)
    _ = write(fd, &bytes, bytes.count)
}

/// Reads what is there (up to 64 bytes) from `fd`: "" at end of stream, nil on timeout or error.
func receive(from fd: Int32) -> String? {
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(fd, &buffer, buffer.count)
    guard count >= 0 else { return nil }
    return String(decoding: buffer[..<count], as: UTF8.self)
}

/// Runs `body` on a new POSIX thread.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&thread, nil, { argument in
        Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
        return nil
    }, box)
    return thread
}

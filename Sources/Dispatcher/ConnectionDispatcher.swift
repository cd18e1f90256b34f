import CEventPoll
import Clocks

#if canImport(Glibc)
import Glibc
#endif

/// Decouples connections from threads: one thread (running `run()`) owns the listening sockets
/// and every idle connection in an epoll set; a connection whose next request has arrived joins a
/// FIFO ready queue, and worker threads take them one at a time (`nextConnection()`), answer the
/// request, and hand the connection back (`finished(keptDescriptor:)`).
///
/// An idle kept-alive connection from nginx therefore costs a descriptor and an epoll entry,
/// never a thread, and no request waits behind idle connections. The dispatcher knows nothing
/// of FastCGI: it watches sockets for bytes; the worker's libfcgi reads them.
///
/// Shared by all threads of the process: every mutable field is guarded by `mutex`, the
/// listening-state fields are touched only by the dispatcher thread, and the pthread objects
/// live at fixed heap addresses for the object's lifetime.
public final class ConnectionDispatcher: @unchecked Sendable {
    /// A snapshot of what the dispatcher holds.
    public struct Statistics: Sendable, Equatable {
        /// Connections open: idle + queued + being served.
        public var open = 0
        /// Idle connections waiting in the epoll set for their next request.
        public var idle = 0
        /// Ready requests waiting for a free thread.
        public var queued = 0
        /// Requests being served by a worker thread.
        public var busy = 0
        /// Connections accepted since start.
        public var accepted = 0
        /// Requests answered 503 because they waited longer than the queue timeout.
        public var shed = 0
        /// TCP connections closed at once because the peer is not in the allow-list.
        public var refusedPeers = 0
        /// Total time requests waited in the ready queue, in nanoseconds.
        public var waitedNanoseconds: UInt64 = 0
        /// Requests taken from the ready queue.
        public var dequeued = 0
    }

    private let poll: EventPoll
    private let listeners: [Int32]
    private let settings: DispatcherSettings
    private let clock: @Sendable () -> UInt64
    private let log: @Sendable (String) -> Void

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let workAvailable: UnsafeMutablePointer<pthread_cond_t>
    private var queue = ReadyQueue()
    private var idle: Set<Int32> = []
    private var statistics = Statistics()
    private var waitingWorkers = 0
    private var stopping = false
    private var graceDeadline: UInt64 = .max
    /// Set once stopping and every connection is closed: workers then leave.
    private var drained = false

    // The dispatcher thread's own state.
    private var listening = false
    /// After accept failed for want of descriptors or memory: when to try again.
    private var acceptPausedUntil: UInt64 = 0

    /// A dispatcher for `listeningSockets` (they are made non-blocking; they stay open on stop,
    /// since under systemd or spawn-fcgi other processes may share them).
    public init(listeningSockets: [Int32], settings: DispatcherSettings = DispatcherSettings(),
                clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nanoseconds,
                log: @escaping @Sendable (String) -> Void) throws(SystemCallError) {
        poll = try EventPoll()
        listeners = listeningSockets
        self.settings = settings
        self.clock = clock
        self.log = log
        for socket in listeningSockets {
            let flags = try systemCall("fcntl(F_GETFL)") { fcntl(socket, F_GETFL) }
            _ = try systemCall("fcntl(F_SETFL, O_NONBLOCK)") { fcntl(socket, F_SETFL, flags | O_NONBLOCK) }
        }
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        workAvailable = .allocate(capacity: 1)
        pthread_cond_init(workAvailable, nil)
    }

    deinit {
        for fd in idle { close(fd) }
        while let connection = queue.removeFirst() { close(connection.descriptor) }
        pthread_cond_destroy(workAvailable)
        workAvailable.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    // MARK: - Worker side

    /// Blocks until a connection has a request ready and returns it; nil once the dispatcher has
    /// stopped and every connection is closed. The caller must call `finished` for it.
    public func nextConnection() -> ReadyConnection? {
        pthread_mutex_lock(mutex)
        while queue.isEmpty && !drained {
            waitingWorkers += 1
            pthread_cond_wait(workAvailable, mutex)
            waitingWorkers -= 1
        }
        guard var connection = queue.removeFirst() else {
            pthread_mutex_unlock(mutex)
            return nil
        }
        let now = clock()
        connection.waitedNanoseconds = now > connection.readySince ? now - connection.readySince : 0
        connection.isOverdue = connection.waitedNanoseconds > settings.queueTimeoutNanoseconds
        statistics.busy += 1
        statistics.dequeued += 1
        statistics.waitedNanoseconds &+= connection.waitedNanoseconds
        if connection.isOverdue { statistics.shed += 1 }
        pthread_mutex_unlock(mutex)
        return connection
    }

    /// Reports that a worker is done with the connection it took: `keptDescriptor` is the
    /// connection when nginx asked to keep it open (it goes back to the epoll set), nil when it
    /// was closed. While stopping, kept connections go back too: closing one right after its
    /// response races nginx, which may already have handed it the next request (a POST it then
    /// answers 502 without retrying: seen under 64 connections). They are closed by nginx when
    /// idle, or by the grace deadline.
    public func finished(keptDescriptor: Int32?) {
        var closeNow: Int32?
        var wakeDispatcher = false
        pthread_mutex_lock(mutex)
        statistics.busy -= 1
        if let fd = keptDescriptor, !(stopping && clock() >= graceDeadline) {
            idle.insert(fd)
            // Re-armed under the lock: the stop path closes idle connections under it too, so
            // no descriptor number is re-armed after it was closed (and perhaps reused).
            do {
                try poll.rearm(fd)
            } catch {
                idle.remove(fd)
                closeNow = fd
                log("keeping a connection failed, closing it: \(error)")
            }
        } else {
            closeNow = keptDescriptor
        }
        if closeNow != nil || keptDescriptor == nil {
            statistics.open -= 1
            wakeDispatcher = stopping || statistics.open == settings.maximumConnections - 1
        }
        pthread_mutex_unlock(mutex)
        if let closeNow { close(closeNow) }
        if wakeDispatcher { poll.wake() }
    }

    /// What the dispatcher holds now.
    public var currentStatistics: Statistics {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var snapshot = statistics
        snapshot.idle = idle.count
        snapshot.queued = queue.count
        return snapshot
    }

    // MARK: - Stopping

    /// Stops accepting connections. Requests already sent are served; idle kept connections
    /// are left for nginx to close (only a close by nginx cannot race a request it is sending)
    /// for up to `graceSeconds`, then closed; `run()` returns when every connection is closed.
    public func stop(graceSeconds: Double) {
        pthread_mutex_lock(mutex)
        if !stopping {
            stopping = true
            graceDeadline = clock() &+ UInt64(max(0, graceSeconds) * 1_000_000_000)
        }
        pthread_mutex_unlock(mutex)
        poll.wake()
    }

    // MARK: - The dispatcher thread

    /// The dispatcher loop: accepts connections and queues those with a request ready. Returns
    /// after `stop` once every connection is closed; fails only if epoll itself fails.
    public func run() throws(SystemCallError) {
        defer { markDrained() }
        try startListening()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var timeout: Int32 = -1
        while true {
            let count = try poll.wait(into: &events, timeoutMilliseconds: timeout)
            for event in events[0..<count] {
                let fd = event.data.fd
                if fd == poll.wakeDescriptor {
                    poll.consumeWake()
                } else if listeners.contains(fd) {
                    acceptConnections(on: fd)
                } else {
                    connectionBecameReadable(fd)
                }
            }
            guard let next = try afterEvents() else { return }
            timeout = next
        }
    }

    private func connectionBecameReadable(_ fd: Int32) {
        var byte: UInt8 = 0
        let peeked = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        let error = errno
        if peeked > 0 {
            pthread_mutex_lock(mutex)
            idle.remove(fd)
            queue.append(ReadyConnection(descriptor: fd, readySince: clock()))
            if waitingWorkers > 0 { pthread_cond_signal(workAvailable) }
            pthread_mutex_unlock(mutex)
        } else if peeked < 0, error == EAGAIN || error == EINTR {
            try? poll.rearm(fd)  // a spurious wake-up: keep waiting
        } else {
            // The peer closed (or the connection failed) between requests: nothing is lost.
            pthread_mutex_lock(mutex)
            let wasIdle = idle.remove(fd) != nil
            if wasIdle { statistics.open -= 1 }
            pthread_mutex_unlock(mutex)
            if wasIdle { close(fd) }
        }
    }

    private func acceptConnections(on listener: Int32) {
        // A bounded batch per wake-up, so one busy listener cannot starve ready connections.
        for _ in 0..<64 {
            pthread_mutex_lock(mutex)
            let full = statistics.open >= settings.maximumConnections
            pthread_mutex_unlock(mutex)
            if full {
                stopListening()
                return
            }
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept4(listener, $0, &length, Int32(SOCK_CLOEXEC.rawValue))
                }
            }
            if fd < 0 {
                let error = errno
                switch error {
                case EAGAIN, EWOULDBLOCK:
                    return
                case EINTR, ECONNABORTED, EPROTO, EPERM:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: stop accepting for a moment instead of spinning.
                    log("accept: \(String(cString: strerror(error))); pausing new connections for 100 ms")
                    stopListening()
                    acceptPausedUntil = clock() &+ 100_000_000
                    return
                default:
                    log("accept failed: \(String(cString: strerror(error)))")
                    return
                }
            }
            let allowed = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { settings.allowedPeers.allows($0) }
            }
            guard allowed else {
                close(fd)
                pthread_mutex_lock(mutex)
                statistics.refusedPeers += 1
                pthread_mutex_unlock(mutex)
                continue
            }
            configure(fd, family: Int32(address.ss_family))
            pthread_mutex_lock(mutex)
            statistics.open += 1
            statistics.accepted += 1
            idle.insert(fd)
            do {
                try poll.add(fd, .connection)
            } catch {
                idle.remove(fd)
                statistics.open -= 1
                close(fd)
                log("watching a new connection failed: \(error)")
            }
            pthread_mutex_unlock(mutex)
        }
    }

    /// Options on an accepted connection: bounded blocking I/O for libfcgi, and for TCP no
    /// Nagle delay (responses are single writes), as libfcgi's own accept does.
    private func configure(_ fd: Int32, family: Int32) {
        var timeout = timeval(tv_sec: settings.ioTimeoutSeconds, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)
        if family == AF_INET || family == AF_INET6 {
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    private func startListening() throws(SystemCallError) {
        guard !listening else { return }
        for listener in listeners { try poll.add(listener, .listener) }
        listening = true
    }

    private func stopListening() {
        guard listening else { return }
        for listener in listeners { try? poll.remove(listener) }
        listening = false
    }

    /// Bookkeeping after each batch of events: resumes accepting below the limit, and while
    /// stopping, closes idle connections past the grace deadline. Returns nil when the loop is
    /// done, else how long the next wait may block: no limit normally, 50 ms while stopping or
    /// while accepting is paused, so deadlines are checked even when no event comes.
    private func afterEvents() throws(SystemCallError) -> Int32? {
        let now = clock()
        var toClose: [Int32] = []
        pthread_mutex_lock(mutex)
        let isStopping = stopping
        let belowLimit = statistics.open < settings.maximumConnections
        if isStopping, now >= graceDeadline, !idle.isEmpty {
            toClose = Array(idle)
            idle.removeAll()
            statistics.open -= toClose.count
        }
        let done = isStopping && statistics.open == 0
        pthread_mutex_unlock(mutex)
        for fd in toClose { close(fd) }
        if isStopping {
            stopListening()
        } else if !listening, belowLimit, now >= acceptPausedUntil {
            acceptPausedUntil = 0
            try startListening()
        }
        if done { return nil }
        return isStopping || acceptPausedUntil != 0 ? 50 : -1
    }

    private func markDrained() {
        pthread_mutex_lock(mutex)
        drained = true
        pthread_cond_broadcast(workAvailable)
        pthread_mutex_unlock(mutex)
    }
}

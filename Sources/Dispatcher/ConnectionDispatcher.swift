import CEventPoll
import Clocks
import Locks

#if canImport(Glibc)
import Glibc
#endif

/// Decouples connections from threads: one thread (running `run()`) owns the listening sockets
/// and every idle connection in an epoll set; a connection whose next request has arrived
/// whole is handed straight to a sleeping worker (the one asleep the shortest time), or else
/// joins a FIFO ready queue, and worker threads take them one at a time (`nextConnection()`),
/// answer the request, and hand the connection back (`finished(keptDescriptor:)`).
///
/// An idle kept-alive connection from nginx therefore costs a descriptor and an epoll entry,
/// never a thread, and no request waits behind idle connections. "Arrived whole" is read from
/// the FastCGI record headers in the socket's buffer (`FastCGIFraming`, with `MSG_PEEK`: the
/// worker's libfcgi still reads every byte itself), so a peer that sends slowly or stops
/// mid-request holds no thread either: it has `requestTimeoutNanoseconds` to finish, its
/// parameters are capped, an idle connection is closed after `idleTimeoutNanoseconds`, and at
/// the connection limit the longest-idle connection makes room for a new one.
///
/// Shared by all threads of the process: everything that changes is a `DispatcherState` behind
/// one lock, and this class only carries out what its transitions say (the I/O).
public final class ConnectionDispatcher: @unchecked Sendable {
    private let poll: EventPoll
    private let listeners: [Int32]
    /// Descriptors whose readiness the dispatcher thread reports to a handler (`notifiers` of
    /// `init`), in the order events arrive: before any connection that turned ready after them.
    private let notifiers: [Int32: @Sendable () -> Void]
    private let settings: DispatcherSettings
    private let clock: @Sendable () -> UInt64
    private let log: @Sendable (String) -> Void
    private let state: Locked<DispatcherState>
    /// Where a connection's pending bytes are peeked (`maximumRequestBytes` + 1); the
    /// dispatcher thread's alone.
    private let peekBuffer: UnsafeMutableRawBufferPointer

    /// A dispatcher for `listeningSockets` (they are made non-blocking; they stay open on stop,
    /// since under systemd or spawn-fcgi other processes may share them). Each of `notifiers`'
    /// descriptors is watched too: while it is readable, its handler runs on the dispatcher thread
    /// (and must make it unreadable), before the dispatcher hands out any request that arrived
    /// after it turned readable. The caller keeps the descriptors open while the dispatcher lives.
    public init(listeningSockets: [Int32], settings: DispatcherSettings = DispatcherSettings(),
                notifiers: [Int32: @Sendable () -> Void] = [:],
                clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nanoseconds,
                log: @escaping @Sendable (String) -> Void) throws(SystemCallError) {
        poll = try EventPoll()
        listeners = listeningSockets
        self.notifiers = notifiers
        for fd in notifiers.keys { try poll.add(fd, .wake) }
        self.settings = settings
        self.clock = clock
        self.log = log
        for socket in listeningSockets {
            let flags = try systemCall("fcntl(F_GETFL)") { fcntl(socket, F_GETFL) }
            _ = try systemCall("fcntl(F_SETFL, O_NONBLOCK)") { fcntl(socket, F_SETFL, flags | O_NONBLOCK) }
        }
        peekBuffer = .allocate(byteCount: settings.maximumRequestBytes + 1, alignment: 8)
        state = Locked(DispatcherState(settings: settings))
    }

    deinit {
        for fd in state.withLock({ $0.unservedDescriptors }) { close(fd) }
        peekBuffer.deallocate()
    }

    // MARK: - Worker side

    /// Blocks until a connection has a request ready and returns it; nil once the dispatcher has
    /// stopped and every connection is closed. The caller must call `finished` for it.
    /// `beforeWaiting` runs (without the lock) once, when there is no work and the thread is about to
    /// wait for some: deferred chores go there, off every request's path.
    public func nextConnection(beforeWaiting: () -> Void = {}) -> ReadyConnection? {
        switch state.withLock({ $0.take(now: clock()) }) {
        case .ready(let connection): return connection
        case .drained: return nil
        case .empty, .asleep: break
        }
        beforeWaiting()
        // Asleep until handed a connection (or nil once drained): woken, it owns it without
        // taking the lock again, so it never contends with whoever woke it.
        let sleeper = Sleeper()
        switch state.withLock({ $0.take(now: clock(), orSleep: sleeper) }) {
        case .ready(let connection): return connection
        case .drained: return nil
        case .empty, .asleep: return sleeper.take()
        }
    }

    /// `finished(keptDescriptor:)` and then `nextConnection(beforeWaiting:)`, taking the lock once
    /// when a request is already waiting (the common case under load).
    public func finished(keptDescriptor: Int32?, thenNext beforeWaiting: () -> Void) -> ReadyConnection? {
        let now = clock()
        let (release, next) = state.withLock { state in
            let release = state.release(keptDescriptor, now: now, watch: keepWatching)
            guard case .ready(let connection) = state.take(now: now) else { return (release, nil as ReadyConnection?) }
            return (release, connection)
        }
        complete(release)
        return next ?? nextConnection(beforeWaiting: beforeWaiting)
    }

    /// Reports that a worker is done with the connection it took: `keptDescriptor` is the
    /// connection when nginx asked to keep it open (it goes back to the epoll set), nil when it
    /// was closed. While stopping, kept connections go back too: closing one right after its
    /// response races nginx, which may already have handed it the next request (a POST it then
    /// answers 502 without retrying: seen under 64 connections). They are closed by nginx when
    /// idle, or by the grace deadline.
    public func finished(keptDescriptor: Int32?) {
        let now = clock()
        complete(state.withLock { $0.release(keptDescriptor, now: now, watch: keepWatching) })
    }

    /// Watches a kept connection again. Called under the lock: the stop path gives up idle
    /// connections under it too, so no descriptor is re-armed after it was closed (and reused).
    private func keepWatching(_ fd: Int32) -> Bool {
        do {
            try poll.rearm(fd)
            return true
        } catch {
            log("keeping a connection failed, closing it: \(error)")
            return false
        }
    }

    private func complete(_ release: DispatcherState.Release) {
        if let fd = release.closeNow { close(fd) }
        if release.wakeDispatcher { poll.wake() }
    }

    /// What the dispatcher holds now.
    public var currentStatistics: Statistics {
        state.withLock { $0.snapshot }
    }

    // MARK: - Requests waiting off any thread

    /// Sets who hears that a parked connection's peer hung up (`watchForHangUp`).
    public func onParkedHangUp(_ handler: @escaping @Sendable (Int32) -> Void) {
        state.withLock { $0.hangUpHandler = handler }
    }

    /// Watches the connection of a request that its worker parked (it stays counted as in service)
    /// for its peer hanging up: the handler of `onParkedHangUp` then hears of it once, on the
    /// dispatcher thread. False when epoll refused (the hang-up then goes unnoticed).
    @discardableResult
    public func watchForHangUp(_ fd: Int32) -> Bool {
        state.withLock { state in
            do {
                try poll.rearm(fd, .parked)
                state.park(fd)
                return true
            } catch {
                log("watching a waiting request's connection failed: \(error)")
                return false
            }
        }
    }

    /// Stops watching a parked connection: whoever calls this owns it again. A hang-up reported
    /// meanwhile is ignored (the next write or read finds it).
    public func stopWatching(_ fd: Int32) {
        state.withLock { $0.unpark(fd) }
    }

    /// Queues a parked request (not watched) for the next free worker, which gets `state` in
    /// `ReadyConnection.resumed`; it is finished as any other (`finished(keptDescriptor:)`).
    public func resume(_ fd: Int32, state resumed: any AnyObject & Sendable) {
        let now = clock()
        var ready = ReadyConnection(descriptor: fd, readySince: now)
        ready.resumed = resumed
        state.withLock { $0.resume(ready, now: now) }?.carryOut()
    }

    // MARK: - Stopping

    /// Stops accepting connections. Requests already sent are served; idle kept connections
    /// are left for nginx to close (only a close by nginx cannot race a request it is sending)
    /// for up to `graceSeconds`, then closed; `run()` returns when every connection is closed.
    public func stop(graceSeconds: Double) {
        let now = clock()
        state.withLock { $0.stop(now: now, graceNanoseconds: UInt64(max(0, graceSeconds) * 1_000_000_000)) }
        poll.wake()
    }

    // MARK: - The dispatcher thread

    /// The dispatcher loop: accepts connections and queues those with a request ready. Returns
    /// after `stop` once every connection is closed; fails only if epoll itself fails.
    public func run() throws(SystemCallError) {
        defer { for sleeper in state.withLock({ $0.drain() }) { sleeper.give(nil) } }
        for listener in listeners { try poll.add(listener, .listener) }
        state.withLock { $0.startedListening() }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var timeout: Int32 = -1
        while true {
            let count = try poll.wait(into: &events, timeoutMilliseconds: timeout)
            for event in events[0..<count] {
                let fd = event.data.fd
                if fd == poll.wakeDescriptor {
                    poll.consumeWake()
                } else if let notify = notifiers[fd] {
                    notify()
                } else if listeners.contains(fd) {
                    acceptConnections(on: fd)
                } else {
                    switch state.withLock({ $0.readiness(of: fd) }) {
                    case .parkedHungUp(let handler): handler?(fd)
                    case .watched: connectionBecameReadable(fd, hungUp: event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0)
                    case .stale: break
                    }
                }
            }
            guard let next = try afterEvents() else { return }
            timeout = next
        }
    }

    /// Looks at what a watched connection has sent: a whole request is queued for a worker, a
    /// partial one is looked at again shortly (until its deadline), anything else is closed.
    private func connectionBecameReadable(_ fd: Int32, hungUp: Bool) {
        let peeked = recv(fd, peekBuffer.baseAddress, peekBuffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        let error = errno
        guard peeked > 0 else {
            if peeked < 0, error == EAGAIN || error == EINTR {
                try? poll.rearm(fd)  // a spurious wake-up: keep waiting
            } else if state.withLock({ $0.peerClosed(fd) }) {
                close(fd)  // the peer closed (or the connection failed) between requests, or mid-request
            }
            return
        }
        let now = clock()
        let pending = UnsafeRawBufferPointer(rebasing: peekBuffer[0..<peeked])
        switch FastCGIFraming.scan(pending, maximumParamsBytes: settings.maximumParamsBytes) {
        case .complete(let byteCount):
            state.withLock { $0.requestArrived(on: fd, now: now, closeAfterResponse: peeked > byteCount) }?.carryOut()
        case .incomplete where peeked > settings.maximumRequestBytes || hungUp:
            refuse(fd)  // too large, or the rest can never come
        case .incomplete:
            state.withLock { $0.requestPartlyArrived(on: fd, now: now) }
        case .malformed, .paramsTooLarge:
            refuse(fd)
        }
    }

    /// Closes a connection whose request is not FastCGI or is over the limits: nothing of it
    /// was read, and no thread ever saw it.
    private func refuse(_ fd: Int32) {
        state.withLock { $0.refused(fd) }
        close(fd)
    }

    private func acceptConnections(on listener: Int32) {
        // A bounded batch per wake-up, so one busy listener cannot starve ready connections.
        for _ in 0..<64 {
            let (canAccept, full) = state.withLock { ($0.canAccept, $0.isFull) }
            guard canAccept else {
                stopListening { $0.stoppedListening() }
                return
            }
            var address = sockaddr_storage()
            let fd: Int32
            switch accept(on: listener, into: &address) {
            case .accepted(let descriptor): fd = descriptor
            case .tryAgain: continue
            case .stop: return
            }
            // Over the limit by this one: the longest-idle connection makes room for it.
            if full, let victim = state.withLock({ $0.makeRoom() }) { close(victim) }
            let allowed = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { settings.allowedPeers.allows($0) }
            }
            guard allowed else {
                close(fd)
                state.withLock { $0.refusedPeer() }
                continue
            }
            configure(fd, family: Int32(address.ss_family))
            let now = clock()
            let watched = state.withLock { $0.accepted(fd, now: now, watch: watchNewConnection) }
            if !watched { close(fd) }
        }
    }

    /// Adds a new connection to the epoll set (under the lock, as it joins the idle set).
    private func watchNewConnection(_ fd: Int32) -> Bool {
        do {
            try poll.add(fd, .connection)
            return true
        } catch {
            log("watching a new connection failed: \(error)")
            return false
        }
    }

    /// What one `accept4` gave.
    private enum Accepted {
        case accepted(Int32)
        /// Interrupted, or a connection that went away before it was taken: take the next.
        case tryAgain
        /// Nothing more to take now (or accepting is paused): back to the loop.
        case stop
    }

    /// Takes one connection from `listener`, its peer's address into `address`.
    private func accept(on listener: Int32, into address: inout sockaddr_storage) -> Accepted {
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                accept4(listener, $0, &length, Int32(SOCK_CLOEXEC.rawValue))
            }
        }
        guard fd < 0 else { return .accepted(fd) }
        let error = errno
        switch error {
        case EAGAIN, EWOULDBLOCK:
            return .stop
        case EINTR, ECONNABORTED, EPROTO, EPERM:
            return .tryAgain
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            // Out of descriptors or memory: stop accepting for a moment instead of spinning.
            log("accept: \(String(cString: strerror(error))); pausing new connections for 100 ms")
            let until = clock() &+ 100_000_000
            stopListening { $0.pauseAccepting(until: until) }
            return .stop
        default:
            log("accept failed: \(String(cString: strerror(error)))")
            return .stop
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

    /// Takes the listening sockets out of the epoll set, if they are in it, as `change` records.
    private func stopListening(_ change: (inout DispatcherState) -> Void) {
        let wasListening = state.withLock { state in
            defer { change(&state) }
            return state.listening
        }
        guard wasListening else { return }
        for listener in listeners { try? poll.remove(listener) }
    }

    /// The bookkeeping after each batch of events (`DispatcherState.sweep`), carried out: nil
    /// when the loop is done, else how long the next wait may block.
    private func afterEvents() throws(SystemCallError) -> Int32? {
        let now = clock()
        let sweep = state.withLock { $0.sweep(now: now) { fd in try? poll.rearm(fd) } }
        for fd in sweep.toClose { close(fd) }
        switch sweep.listen {
        case true?: for listener in listeners { try poll.add(listener, .listener) }
        case false?: for listener in listeners { try? poll.remove(listener) }
        case nil: break
        }
        return sweep.timeoutMilliseconds
    }
}

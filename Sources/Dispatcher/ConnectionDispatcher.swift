import CEventPoll
import Clocks

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
        /// Connections whose request has begun to arrive but is not whole yet.
        public var arriving = 0
        /// Connections closed because their request was not FastCGI, or too large.
        public var refusedRequests = 0
        /// Connections closed because their request did not arrive whole in time.
        public var timedOutRequests = 0
        /// Idle connections closed after the idle timeout, or to make room at the limit.
        public var closedIdle = 0
        /// Worker threads asleep for want of a ready request.
        public var sleeping = 0
    }

    private let poll: EventPoll
    private let listeners: [Int32]
    /// Descriptors whose readiness the dispatcher thread reports to a handler (`notifiers` of
    /// `init`), in the order events arrive: before any connection that turned ready after them.
    private let notifiers: [Int32: @Sendable () -> Void]
    private let settings: DispatcherSettings
    private let clock: @Sendable () -> UInt64
    private let log: @Sendable (String) -> Void

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var queue = ReadyQueue()
    /// Workers asleep for want of work, the most recent last. A ready connection goes straight
    /// to the last (its caches are the warmest), never through the queue: the queue has
    /// entries only while no worker sleeps.
    private var sleepers: [Sleeper] = []
    /// Idle connections, and since when (the clock's nanoseconds) each has been idle.
    private var idle: [Int32: UInt64] = [:]
    /// Connections whose request waits off any thread, watched for their peer hanging up.
    private var parked: Set<Int32> = []
    /// Told (on the dispatcher thread) which parked connection hung up.
    private var hangUpHandler: (@Sendable (Int32) -> Void)?
    private var statistics = Statistics()
    private var stopping = false
    private var graceDeadline: UInt64 = .max
    /// Set once stopping and every connection is closed: workers then leave.
    private var drained = false

    // The dispatcher thread's own state.
    private var listening = false
    /// After accept failed for want of descriptors or memory: when to try again.
    private var acceptPausedUntil: UInt64 = 0
    /// Connections whose request is partly there, not watched until `retryAt`.
    private var arriving: [Int32: Arrival] = [:]
    /// Where a connection's pending bytes are peeked (`maximumRequestBytes` + 1).
    private let peekBuffer: UnsafeMutableRawBufferPointer
    /// When idle connections are next checked against the idle timeout.
    private var nextIdleSweep: UInt64 = 0

    /// A request partly received: since when, and when to look at the connection again.
    private struct Arrival {
        let since: UInt64
        var retryAt: UInt64
        var delay: UInt64
    }

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
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        for fd in idle.keys { close(fd) }
        for fd in arriving.keys { close(fd) }
        peekBuffer.deallocate()
        while let connection = queue.removeFirst() { close(connection.descriptor) }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    // MARK: - Worker side

    /// Blocks until a connection has a request ready and returns it; nil once the dispatcher has
    /// stopped and every connection is closed. The caller must call `finished` for it.
    /// `beforeWaiting` runs (without the lock) once, when there is no work and the thread is about to
    /// wait for some: deferred chores go there, off every request's path.
    public func nextConnection(beforeWaiting: () -> Void = {}) -> ReadyConnection? {
        pthread_mutex_lock(mutex)
        var choresDone = false
        while queue.isEmpty && !drained {
            if !choresDone {
                choresDone = true
                pthread_mutex_unlock(mutex)
                beforeWaiting()
                pthread_mutex_lock(mutex)
                continue
            }
            // Asleep until handed a connection (or nil once drained): woken, it owns it
            // without taking the lock again, so it never contends with whoever woke it.
            let sleeper = Sleeper()
            sleepers.append(sleeper)
            pthread_mutex_unlock(mutex)
            return sleeper.awaitHandOver()
        }
        let connection = takeReadyLocked()
        pthread_mutex_unlock(mutex)
        return connection
    }

    /// `finished(keptDescriptor:)` and then `nextConnection(beforeWaiting:)`, taking the lock once
    /// when a request is already waiting (the common case under load).
    public func finished(keptDescriptor: Int32?, thenNext beforeWaiting: () -> Void) -> ReadyConnection? {
        pthread_mutex_lock(mutex)
        let release = releaseLocked(keptDescriptor)
        let connection = queue.isEmpty ? nil : takeReadyLocked()
        pthread_mutex_unlock(mutex)
        complete(release)
        return connection ?? nextConnection(beforeWaiting: beforeWaiting)
    }

    /// The first ready connection, counted as in service; nil when the queue is empty. Under the lock.
    private func takeReadyLocked() -> ReadyConnection? {
        guard let connection = queue.removeFirst() else { return nil }
        return serveLocked(connection)
    }

    /// A ready connection becomes a sleeping worker's at once, or else joins the queue. Under
    /// the lock; the sleeper returned is to be woken after unlocking.
    private func offerLocked(_ connection: ReadyConnection) -> Sleeper? {
        guard let sleeper = sleepers.popLast() else {
            queue.append(connection)
            return nil
        }
        sleeper.handed = serveLocked(connection)
        return sleeper
    }

    /// `connection` as taken by a worker now: counted as in service, its wait measured. Under the lock.
    private func serveLocked(_ taken: ReadyConnection) -> ReadyConnection {
        var connection = taken
        let now = clock()
        connection.waitedNanoseconds = Self.elapsed(since: connection.readySince, now: now)
        // A resumed request is answered however long it queued: it has been accepted already.
        connection.isOverdue = connection.resumed == nil && connection.waitedNanoseconds > settings.queueTimeoutNanoseconds
        statistics.busy += 1
        statistics.dequeued += 1
        statistics.waitedNanoseconds &+= connection.waitedNanoseconds
        if connection.isOverdue { statistics.shed += 1 }
        return connection
    }

    /// A worker asleep in `nextConnection`: posted once, after `handed` is set (nil: drained).
    private final class Sleeper: @unchecked Sendable {
        private let semaphore: UnsafeMutablePointer<sem_t>
        /// Set under the dispatcher's lock before `wake`; read by the sleeper after it woke.
        var handed: ReadyConnection?

        init() {
            semaphore = .allocate(capacity: 1)
            sem_init(semaphore, 0, 0)
        }

        deinit {
            sem_destroy(semaphore)
            semaphore.deallocate()
        }

        func wake() {
            sem_post(semaphore)
        }

        func awaitHandOver() -> ReadyConnection? {
            while sem_wait(semaphore) != 0 {}  // EINTR: a signal came first
            return handed
        }
    }

    /// Reports that a worker is done with the connection it took: `keptDescriptor` is the
    /// connection when nginx asked to keep it open (it goes back to the epoll set), nil when it
    /// was closed. While stopping, kept connections go back too: closing one right after its
    /// response races nginx, which may already have handed it the next request (a POST it then
    /// answers 502 without retrying: seen under 64 connections). They are closed by nginx when
    /// idle, or by the grace deadline.
    public func finished(keptDescriptor: Int32?) {
        pthread_mutex_lock(mutex)
        let release = releaseLocked(keptDescriptor)
        pthread_mutex_unlock(mutex)
        complete(release)
    }

    // MARK: - Requests waiting off any thread

    /// Sets who hears that a parked connection's peer hung up (`watchForHangUp`).
    public func onParkedHangUp(_ handler: @escaping @Sendable (Int32) -> Void) {
        pthread_mutex_lock(mutex)
        hangUpHandler = handler
        pthread_mutex_unlock(mutex)
    }

    /// Watches the connection of a request that its worker parked (it stays counted as in service)
    /// for its peer hanging up: the handler of `onParkedHangUp` then hears of it once, on the
    /// dispatcher thread. False when epoll refused (the hang-up then goes unnoticed).
    @discardableResult
    public func watchForHangUp(_ fd: Int32) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        do {
            try poll.rearm(fd, .parked)
            parked.insert(fd)
            return true
        } catch {
            log("watching a waiting request's connection failed: \(error)")
            return false
        }
    }

    /// Stops watching a parked connection: whoever calls this owns it again. A hang-up reported
    /// meanwhile is ignored (the next write or read finds it).
    public func stopWatching(_ fd: Int32) {
        pthread_mutex_lock(mutex)
        parked.remove(fd)
        pthread_mutex_unlock(mutex)
    }

    /// Queues a parked request (not watched) for the next free worker, which gets `state` in
    /// `ReadyConnection.resumed`; it is finished as any other (`finished(keptDescriptor:)`).
    public func resume(_ fd: Int32, state: any AnyObject & Sendable) {
        var ready = ReadyConnection(descriptor: fd, readySince: clock())
        ready.resumed = state
        pthread_mutex_lock(mutex)
        statistics.busy -= 1  // taken again from the queue
        let sleeper = offerLocked(ready)
        pthread_mutex_unlock(mutex)
        sleeper?.wake()
    }

    /// What is left to do, without the lock, after a connection came back.
    private struct Release {
        var closeNow: Int32?
        var wakeDispatcher = false
    }

    /// The bookkeeping of `finished`, under the lock.
    private func releaseLocked(_ keptDescriptor: Int32?) -> Release {
        var release = Release()
        statistics.busy -= 1
        let now = clock()
        if let fd = keptDescriptor, !(stopping && now >= graceDeadline) {
            idle[fd] = now
            // Re-armed under the lock: the stop path closes idle connections under it too, so
            // no descriptor number is re-armed after it was closed (and perhaps reused).
            do {
                try poll.rearm(fd)
            } catch {
                idle.removeValue(forKey: fd)
                release.closeNow = fd
                log("keeping a connection failed, closing it: \(error)")
            }
        } else {
            release.closeNow = keptDescriptor
        }
        if release.closeNow != nil || keptDescriptor == nil {
            statistics.open -= 1
            release.wakeDispatcher = stopping || statistics.open == settings.maximumConnections - 1
        } else {
            // At the limit, an idle connection is room a new one can take: listen again.
            release.wakeDispatcher = statistics.open >= settings.maximumConnections
        }
        return release
    }

    private func complete(_ release: Release) {
        if let fd = release.closeNow { close(fd) }
        if release.wakeDispatcher { poll.wake() }
    }

    /// What the dispatcher holds now.
    public var currentStatistics: Statistics {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var snapshot = statistics
        snapshot.idle = idle.count
        snapshot.queued = queue.count
        snapshot.sleeping = sleepers.count
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
                } else if let notify = notifiers[fd] {
                    notify()
                } else if listeners.contains(fd) {
                    acceptConnections(on: fd)
                } else {
                    pthread_mutex_lock(mutex)
                    let wasParked = parked.remove(fd) != nil
                    // Anything else is a stale report for a connection a worker holds: ignored.
                    let isWatched = idle[fd] != nil || arriving[fd] != nil
                    let handler = hangUpHandler
                    pthread_mutex_unlock(mutex)
                    if wasParked {
                        handler?(fd)
                    } else if isWatched {
                        connectionBecameReadable(fd, hungUp: event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0)
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
        if peeked > 0 {
            let now = clock()
            let pending = UnsafeRawBufferPointer(rebasing: peekBuffer[0..<peeked])
            switch FastCGIFraming.scan(pending, maximumParamsBytes: settings.maximumParamsBytes) {
            case .complete(let byteCount):
                arriving.removeValue(forKey: fd)
                var ready = ReadyConnection(descriptor: fd, readySince: now)
                ready.closeAfterResponse = peeked > byteCount
                pthread_mutex_lock(mutex)
                idle.removeValue(forKey: fd)
                statistics.arriving = arriving.count
                let sleeper = offerLocked(ready)
                pthread_mutex_unlock(mutex)
                sleeper?.wake()
            case .incomplete where peeked > settings.maximumRequestBytes || hungUp:
                refuse(fd)  // too large, or the rest can never come
            case .incomplete:
                // Watched again after a short, growing pause: a partial request keeps the
                // descriptor readable, so re-arming it at once would spin.
                var arrival = arriving[fd] ?? Arrival(since: now, retryAt: 0, delay: 0)
                arrival.delay = min(max(arrival.delay * 2, 1_000_000), 64_000_000)
                arrival.retryAt = now &+ arrival.delay
                arriving[fd] = arrival
                pthread_mutex_lock(mutex)
                idle.removeValue(forKey: fd)
                statistics.arriving = arriving.count
                pthread_mutex_unlock(mutex)
            case .malformed, .paramsTooLarge:
                refuse(fd)
            }
        } else if peeked < 0, error == EAGAIN || error == EINTR {
            try? poll.rearm(fd)  // a spurious wake-up: keep waiting
        } else {
            // The peer closed (or the connection failed) between requests, or mid-request.
            let wasArriving = arriving.removeValue(forKey: fd) != nil
            pthread_mutex_lock(mutex)
            let wasIdle = idle.removeValue(forKey: fd) != nil
            if wasIdle || wasArriving { statistics.open -= 1 }
            statistics.arriving = arriving.count
            pthread_mutex_unlock(mutex)
            if wasIdle || wasArriving { close(fd) }
        }
    }

    /// Closes a connection whose request is not FastCGI or is over the limits: nothing of it
    /// was read, and no thread ever saw it.
    private func refuse(_ fd: Int32) {
        arriving.removeValue(forKey: fd)
        pthread_mutex_lock(mutex)
        idle.removeValue(forKey: fd)
        statistics.open -= 1
        statistics.refusedRequests += 1
        statistics.arriving = arriving.count
        pthread_mutex_unlock(mutex)
        close(fd)
    }

    /// Past the connection limit: closes the longest-idle connection (else the oldest partial
    /// request) to make room for the one just accepted; false when every connection is at work.
    private func makeRoom() -> Bool {
        pthread_mutex_lock(mutex)
        var victim = idle.min(by: { $0.value < $1.value })?.key
        if let fd = victim {
            idle.removeValue(forKey: fd)
        } else if let oldest = arriving.min(by: { $0.value.since < $1.value.since })?.key {
            arriving.removeValue(forKey: oldest)
            statistics.arriving = arriving.count
            victim = oldest
        }
        if victim != nil {
            statistics.open -= 1
            statistics.closedIdle += 1
        }
        pthread_mutex_unlock(mutex)
        guard let victim else { return false }
        close(victim)
        return true
    }

    private func acceptConnections(on listener: Int32) {
        // A bounded batch per wake-up, so one busy listener cannot starve ready connections.
        for _ in 0..<64 {
            pthread_mutex_lock(mutex)
            let full = statistics.open >= settings.maximumConnections
            let roomCanBeMade = !idle.isEmpty || !arriving.isEmpty
            pthread_mutex_unlock(mutex)
            if full, !roomCanBeMade {
                stopListening()
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
            if full { _ = makeRoom() }
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
            idle[fd] = clock()
            do {
                try poll.add(fd, .connection)
            } catch {
                idle.removeValue(forKey: fd)
                statistics.open -= 1
                close(fd)
                log("watching a new connection failed: \(error)")
            }
            pthread_mutex_unlock(mutex)
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
            stopListening()
            acceptPausedUntil = clock() &+ 100_000_000
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

    /// Bookkeeping after each batch of events: partial requests are looked at again when due
    /// and closed past their deadline, idle connections past the idle timeout; accepting
    /// resumes below the limit, and while stopping, idle connections are closed past the grace
    /// deadline. Returns nil when the loop is done, else how long the next wait may block: until
    /// the next partial request is due, at most a second (the idle sweep), 50 ms while stopping
    /// or while accepting is paused.
    private func afterEvents() throws(SystemCallError) -> Int32? {
        let now = clock()
        var toClose: [Int32] = []
        var nextDue = now &+ 1_000_000_000
        pthread_mutex_lock(mutex)
        let isStopping = stopping
        let pastGrace = isStopping && now >= graceDeadline
        for (fd, arrival) in arriving {
            if pastGrace || Self.elapsed(since: arrival.since, now: now) > settings.requestTimeoutNanoseconds {
                arriving.removeValue(forKey: fd)
                toClose.append(fd)
                if !pastGrace { statistics.timedOutRequests += 1 }
            } else if arrival.retryAt <= now {
                arriving[fd]?.retryAt = .max  // re-armed: its next event says what is there now
                try? poll.rearm(fd)
            } else {
                nextDue = min(nextDue, arrival.retryAt)
            }
        }
        if pastGrace, !idle.isEmpty {
            toClose += idle.keys
            idle.removeAll()
        } else if now >= nextIdleSweep {
            nextIdleSweep = now &+ 1_000_000_000
            for (fd, since) in idle where Self.elapsed(since: since, now: now) > settings.idleTimeoutNanoseconds {
                idle.removeValue(forKey: fd)
                toClose.append(fd)
                statistics.closedIdle += 1
            }
        }
        statistics.open -= toClose.count
        statistics.arriving = arriving.count
        let belowLimit = statistics.open < settings.maximumConnections || !idle.isEmpty || !arriving.isEmpty
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
        if isStopping || acceptPausedUntil != 0 { return 50 }
        return Int32(clamping: (nextDue &- now + 999_999) / 1_000_000)
    }

    /// Nanoseconds from `since` to `now`; 0 when `since` is later. A worker that hands a
    /// connection back between the sweep's clock reading and its lock stamps it later than the
    /// sweep's `now`: a wrapping difference took that connection for centuries idle and closed
    /// it while nginx was sending its next request (a reset, and a POST answered 502).
    static func elapsed(since: UInt64, now: UInt64) -> UInt64 {
        now > since ? now - since : 0
    }

    private func markDrained() {
        pthread_mutex_lock(mutex)
        drained = true
        let woken = sleepers
        sleepers.removeAll()
        pthread_mutex_unlock(mutex)
        for sleeper in woken { sleeper.wake() }  // each hands over nil: there is no more work
    }
}

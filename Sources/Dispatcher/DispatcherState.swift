import Locks

/// A worker asleep for want of a ready request: it is handed one, or nil once drained.
typealias Sleeper = HandOff<ReadyConnection?>

/// A ready request for a worker that sleeps: give it once the lock is released.
struct HandOver {
    let sleeper: Sleeper
    let connection: ReadyConnection

    /// Wakes the sleeper with the connection.
    func carryOut() { sleeper.give(connection) }
}

/// Everything a `ConnectionDispatcher` keeps track of, and every change to it, without any I/O:
/// the dispatcher holds it behind one lock and carries out what a transition returns (close a
/// descriptor, wake a worker or the dispatcher thread). Where a system call must happen inside
/// a transition, because of what may happen between it and the next one (re-arming a kept
/// connection before the stop path can close it), the transition takes it as a function, so
/// tests can run every transition without sockets. Times are the clock's nanoseconds, given.
struct DispatcherState {
    private let settings: DispatcherSettings
    private(set) var statistics = ConnectionDispatcher.Statistics()
    /// Ready requests in arrival order; entries only while no worker sleeps.
    private var queue = ReadyQueue()
    /// Workers asleep for want of work, the most recent last. A ready connection goes straight
    /// to the last (its caches are the warmest), never through the queue.
    private var sleepers: [Sleeper] = []
    /// Idle connections, and since when each has been idle.
    private var idle: [Int32: UInt64] = [:]
    /// Connections whose request is partly there, not watched until `retryAt`.
    private var arriving: [Int32: Arrival] = [:]
    /// Connections whose request waits off any thread, watched for their peer hanging up.
    private var parked: Set<Int32> = []
    /// Told (on the dispatcher thread) which parked connection hung up.
    var hangUpHandler: (@Sendable (Int32) -> Void)?
    private(set) var stopping = false
    private var graceDeadline: UInt64 = .max
    /// Set once stopping and every connection is closed: workers then leave.
    private(set) var drained = false
    /// Whether the listening sockets are in the epoll set.
    private(set) var listening = false
    /// After accept failed for want of descriptors or memory: when to try again (0: not paused).
    private var acceptPausedUntil: UInt64 = 0
    /// When idle connections are next checked against the idle timeout.
    private var nextIdleSweep: UInt64 = 0

    /// A request partly received: since when, and when to look at the connection again.
    private struct Arrival {
        let since: UInt64
        var retryAt: UInt64
        var delay: UInt64
    }

    init(settings: DispatcherSettings) {
        self.settings = settings
    }

    /// What the dispatcher holds now.
    var snapshot: ConnectionDispatcher.Statistics {
        var snapshot = statistics
        snapshot.idle = idle.count
        snapshot.queued = queue.count
        snapshot.sleeping = sleepers.count
        snapshot.arriving = arriving.count
        return snapshot
    }

    /// Every descriptor the dispatcher holds that no worker does: closed when it goes away.
    var unservedDescriptors: [Int32] {
        var descriptors = Array(idle.keys) + Array(arriving.keys)
        var queued = queue
        while let connection = queued.removeFirst() { descriptors.append(connection.descriptor) }
        return descriptors
    }

    /// Nanoseconds from `since` to `now`; 0 when `since` is later. A worker that hands a
    /// connection back between the sweep's clock reading and its lock stamps it later than the
    /// sweep's `now`: a wrapping difference took that connection for centuries idle and closed
    /// it while nginx was sending its next request (a reset, and a POST answered 502).
    static func elapsed(since: UInt64, now: UInt64) -> UInt64 {
        now > since ? now - since : 0
    }
}

// MARK: - Worker side

extension DispatcherState {
    /// What a worker asking for work gets.
    enum Take {
        /// A request to serve, counted as in service.
        case ready(ReadyConnection)
        /// Nothing to do, and nothing will come: the dispatcher stopped and drained.
        case drained
        /// Nothing queued (and no sleeper was offered).
        case empty
        /// The sleeper offered joined the sleepers: it is handed the next ready request.
        case asleep
    }

    /// The first queued request; else, when `sleeper` is given, it sleeps until handed one.
    mutating func take(now: UInt64, orSleep sleeper: Sleeper? = nil) -> Take {
        if let connection = queue.removeFirst() { return .ready(serve(connection, now: now)) }
        if drained { return .drained }
        guard let sleeper else { return .empty }
        sleepers.append(sleeper)
        return .asleep
    }

    /// A ready request becomes the most recent sleeper's at once (the hand-over returned, to
    /// carry out once the lock is released), or else joins the queue.
    mutating func offer(_ connection: ReadyConnection, now: UInt64) -> HandOver? {
        guard let sleeper = sleepers.popLast() else {
            queue.append(connection)
            return nil
        }
        return HandOver(sleeper: sleeper, connection: serve(connection, now: now))
    }

    /// `taken` as a worker takes it now: counted as in service, its wait measured.
    private mutating func serve(_ taken: ReadyConnection, now: UInt64) -> ReadyConnection {
        var connection = taken
        connection.waitedNanoseconds = Self.elapsed(since: connection.readySince, now: now)
        // A resumed request is answered however long it queued: it has been accepted already.
        connection.isOverdue = connection.resumed == nil && connection.waitedNanoseconds > settings.queueTimeoutNanoseconds
        statistics.busy += 1
        statistics.dequeued += 1
        statistics.waitedNanoseconds &+= connection.waitedNanoseconds
        if connection.isOverdue { statistics.shed += 1 }
        return connection
    }

    /// What is left to do, without the lock, after a connection came back.
    struct Release: Equatable {
        /// A descriptor to close.
        var closeNow: Int32?
        /// Whether the dispatcher thread must look again (room below the limit, or stopping).
        var wakeDispatcher = false
    }

    /// A worker is done with its connection: `kept` goes back to the idle set, and is watched
    /// again by `watch` (false: it could not be, and is closed); nil was closed by the worker.
    /// Past the stop's grace a kept connection is closed instead.
    mutating func release(_ kept: Int32?, now: UInt64, watch: (Int32) -> Bool) -> Release {
        var release = Release()
        statistics.busy -= 1
        if let fd = kept, !(stopping && now >= graceDeadline) {
            idle[fd] = now
            if !watch(fd) {
                idle.removeValue(forKey: fd)
                release.closeNow = fd
            }
        } else {
            release.closeNow = kept
        }
        if release.closeNow != nil || kept == nil {
            statistics.open -= 1
            release.wakeDispatcher = stopping || statistics.open == settings.maximumConnections - 1
        } else {
            // At the limit, an idle connection is room a new one can take: listen again.
            release.wakeDispatcher = statistics.open >= settings.maximumConnections
        }
        return release
    }

    /// A request parked off any thread (still counted in service) is watched for a hang-up.
    mutating func park(_ fd: Int32) {
        parked.insert(fd)
    }

    /// A parked request's connection is its owner's again: a hang-up is no longer reported.
    mutating func unpark(_ fd: Int32) {
        parked.remove(fd)
    }

    /// A parked request is due again: it is offered to workers as a ready one.
    mutating func resume(_ connection: ReadyConnection, now: UInt64) -> HandOver? {
        statistics.busy -= 1  // taken again from the queue
        return offer(connection, now: now)
    }

    /// Starts stopping (once): kept connections are closed `graceNanoseconds` from `now`.
    mutating func stop(now: UInt64, graceNanoseconds: UInt64) {
        guard !stopping else { return }
        stopping = true
        graceDeadline = now &+ graceNanoseconds
    }

    /// Every connection is closed after a stop: the sleepers to give nil (no more work).
    mutating func drain() -> [Sleeper] {
        drained = true
        defer { sleepers.removeAll() }
        return sleepers
    }
}

// MARK: - Dispatcher thread: connections accepted, requests arriving, peers going away

extension DispatcherState {
    /// Whether a new connection can be taken: below the limit, or at it with one that can make room.
    var canAccept: Bool {
        statistics.open < settings.maximumConnections || !idle.isEmpty || !arriving.isEmpty
    }

    /// Whether taking one more connection means closing another (`makeRoom`).
    var isFull: Bool { statistics.open >= settings.maximumConnections }

    /// Past the limit: the longest-idle connection (else the oldest partial request) is given
    /// up to make room for one just accepted; its descriptor, to close. Nil when all are at work.
    mutating func makeRoom() -> Int32? {
        var victim = idle.min(by: { $0.value < $1.value })?.key
        if let fd = victim {
            idle.removeValue(forKey: fd)
        } else if let oldest = arriving.min(by: { $0.value.since < $1.value.since })?.key {
            arriving.removeValue(forKey: oldest)
            victim = oldest
        }
        if victim != nil {
            statistics.open -= 1
            statistics.closedIdle += 1
        }
        return victim
    }

    /// A TCP peer outside the allow-list was turned away.
    mutating func refusedPeer() {
        statistics.refusedPeers += 1
    }

    /// A new connection joins the idle set, watched by `watch`; false when it could not be
    /// watched (it is then to be closed, and was never counted).
    mutating func accepted(_ fd: Int32, now: UInt64, watch: (Int32) -> Bool) -> Bool {
        guard watch(fd) else { return false }
        statistics.open += 1
        statistics.accepted += 1
        idle[fd] = now
        return true
    }

    /// What an event on a connection means.
    enum Readiness {
        /// A parked request's peer hung up: tell the handler (nil: nobody listens).
        case parkedHungUp((@Sendable (Int32) -> Void)?)
        /// An idle connection, or one whose request is arriving: look at what it sent.
        case watched
        /// A stale report for a connection a worker holds: ignore it.
        case stale
    }

    /// What the event just reported on `fd` means; a parked connection is reported only once.
    mutating func readiness(of fd: Int32) -> Readiness {
        if parked.remove(fd) != nil { return .parkedHungUp(hangUpHandler) }
        return idle[fd] != nil || arriving[fd] != nil ? .watched : .stale
    }

    /// A whole request arrived on `fd`: it is offered to the workers.
    mutating func requestArrived(on fd: Int32, now: UInt64, closeAfterResponse: Bool) -> HandOver? {
        arriving.removeValue(forKey: fd)
        idle.removeValue(forKey: fd)
        var ready = ReadyConnection(descriptor: fd, readySince: now)
        ready.closeAfterResponse = closeAfterResponse
        return offer(ready, now: now)
    }

    /// Part of a request is on `fd`: it is looked at again after a short pause, growing from
    /// 1 ms to 64 ms (a partial request keeps it readable, so watching it at once would spin).
    mutating func requestPartlyArrived(on fd: Int32, now: UInt64) {
        idle.removeValue(forKey: fd)
        var arrival = arriving[fd] ?? Arrival(since: now, retryAt: 0, delay: 0)
        arrival.delay = min(max(arrival.delay * 2, 1_000_000), 64_000_000)
        arrival.retryAt = now &+ arrival.delay
        arriving[fd] = arrival
    }

    /// The request on `fd` is not FastCGI or is over the limits: it is to be closed, unread.
    mutating func refused(_ fd: Int32) {
        arriving.removeValue(forKey: fd)
        idle.removeValue(forKey: fd)
        statistics.open -= 1
        statistics.refusedRequests += 1
    }

    /// The peer of a watched connection closed it (or it failed); true when it is to be closed
    /// here (false: it was not watched any more).
    mutating func peerClosed(_ fd: Int32) -> Bool {
        let wasArriving = arriving.removeValue(forKey: fd) != nil
        let wasIdle = idle.removeValue(forKey: fd) != nil
        guard wasIdle || wasArriving else { return false }
        statistics.open -= 1
        return true
    }

    /// Accepting stopped: at the limit with nothing to give up, or stopping.
    mutating func stoppedListening() {
        listening = false
    }

    /// Accepting failed for want of descriptors or memory: it stops until `until`.
    mutating func pauseAccepting(until: UInt64) {
        listening = false
        acceptPausedUntil = until
    }

    /// What the dispatcher thread does after a batch of events.
    struct Sweep: Equatable {
        /// Connections to close: past a deadline, or past the stop's grace.
        var toClose: [Int32] = []
        /// Start (true) or stop (false) accepting; nil: as it is.
        var listen: Bool?
        /// How long the next wait may block, in milliseconds; nil when the loop is done.
        var timeoutMilliseconds: Int32?
    }

    /// Bookkeeping after each batch of events: partial requests are watched again (`watch`)
    /// when due and given up past their deadline, idle connections past the idle timeout;
    /// accepting resumes below the limit, and while stopping, idle connections are closed past
    /// the grace deadline. The next wait lasts until the next partial request is due, at most a
    /// second (the idle sweep), 50 ms while stopping or while accepting is paused.
    mutating func sweep(now: UInt64, watch: (Int32) -> Void) -> Sweep {
        var sweep = Sweep()
        let pastGrace = stopping && now >= graceDeadline
        var nextDue = now &+ 1_000_000_000
        for (fd, arrival) in arriving {
            if pastGrace || Self.elapsed(since: arrival.since, now: now) > settings.requestTimeoutNanoseconds {
                arriving.removeValue(forKey: fd)
                sweep.toClose.append(fd)
                if !pastGrace { statistics.timedOutRequests += 1 }
            } else if arrival.retryAt <= now {
                arriving[fd]?.retryAt = .max  // watched again: its next event says what is there now
                watch(fd)
            } else {
                nextDue = min(nextDue, arrival.retryAt)
            }
        }
        sweep.toClose += closeIdle(now: now, all: pastGrace)
        statistics.open -= sweep.toClose.count
        if stopping {
            if listening { sweep.listen = false }
            listening = false
        } else if !listening, canAccept, now >= acceptPausedUntil {
            acceptPausedUntil = 0
            listening = true
            sweep.listen = true
        }
        if stopping && statistics.open == 0 { return sweep }
        sweep.timeoutMilliseconds = stopping || acceptPausedUntil != 0 ? 50 : Int32(clamping: (nextDue &- now + 999_999) / 1_000_000)
        return sweep
    }

    /// Idle connections given up now: all of them (`all`, past the grace), or, once a second,
    /// those idle longer than the idle timeout.
    private mutating func closeIdle(now: UInt64, all: Bool) -> [Int32] {
        if all, !idle.isEmpty {
            defer { idle.removeAll() }
            return Array(idle.keys)
        }
        guard now >= nextIdleSweep else { return [] }
        nextIdleSweep = now &+ 1_000_000_000
        let expired = idle.filter { Self.elapsed(since: $0.value, now: now) > settings.idleTimeoutNanoseconds }.map(\.key)
        for fd in expired { idle.removeValue(forKey: fd) }
        statistics.closedIdle += expired.count
        return expired
    }

    /// The dispatcher started listening (at `run`).
    mutating func startedListening() {
        listening = true
    }
}

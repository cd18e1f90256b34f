import CMalloc
import Clocks
import Dispatcher
import FastCGI
import JWT
import Locks
import Metrics
import Synchronization
import TaskModel
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// A dispatcher thread and N worker threads. The dispatcher holds the listening socket and every
/// idle connection; each worker has its own FastCGI request slot, task store (its own database
/// connection, made by the backend) and application, and loops: take a connection with a
/// request ready → answer → hand it back.
public final class WorkerPool: Sendable {
    /// How long shutdown leaves idle kept-alive connections to nginx before closing them itself.
    /// nginx closes idle ones on its own (`keepalive_timeout 4s` in our upstream blocks), and
    /// only a close by nginx is free of the race with a request it has just sent (which nginx
    /// would answer 502 and, for a POST, not retry).
    static let keptConnectionGrace: Double = 5

    let configuration: ServerConfiguration
    /// The build's version, for `/metrics`' `todo_build_info`.
    let buildVersion: String
    let dispatcher: ConnectionDispatcher
    /// The token settings in force; replaced on SIGHUP. Workers compare `generation`
    /// (one atomic load per request) and rebuild their authenticator when it moved.
    let jwt: Locked<JWTConfiguration>
    let generation = Atomic<Int>(0)
    /// Workers that finished starting, and how many of them failed.
    let started = Atomic<Int>(0)
    let failedToStart = Atomic<Int>(0)
    /// Set when the pool stops: the key refresher then returns.
    private let stopping = Atomic<Bool>(false)
    /// Set when the dispatcher loop failed: the process then exits non-zero.
    private let dispatcherFailed = Atomic<Bool>(false)
    /// Set when the backend said the process cannot go on (`TaskBackend.fatalFailure`): the
    /// process then stops and exits non-zero, and its supervisor starts it again.
    private let storageFailed = Atomic<Bool>(false)
    /// The metrics shared with the other processes of this database; nil when off or unusable.
    let metricsFile: MetricsFile?
    private let processMetrics: ProcessMetrics?
    private let startTime = UInt64(WallClock.seconds())
    /// Requests parked now, waiting for their writes' flush.
    let parkedRequests = Atomic<Int>(0)
    /// Where sync requests wait for their users' changes; nil when waits are answered at once
    /// (`--max-waiters 0`, or no change feed).
    let room: ChangeWaitRoom?
    /// Requests waiting for a database server that takes them (`--database-wait`).
    let databaseWaitRoom: DatabaseWaitRoom

    /// A pool serving `socket` (a listening socket) as `configuration` says: its dispatcher, its
    /// metrics slot and its wait room are made now; its threads start with `run`.
    public init(configuration: ServerConfiguration, socket: Int32, buildVersion: String) throws {
        self.configuration = configuration
        self.buildVersion = buildVersion
        self.jwt = Locked(configuration.jwt)
        // The database file's watch is drained by the dispatcher, ahead of the requests sent after
        // what it heard: stores made from now on skip their per-operation `stat`.
        let fileWatch = configuration.backend.watchFileReplacement()
        self.dispatcher = try ConnectionDispatcher(listeningSockets: [socket], settings: configuration.dispatcher,
                                                   notifiers: fileWatch.map { watch in [watch.descriptor: { watch.drain() }] } ?? [:],
                                                   log: Log.error)
        var file: MetricsFile?
        var process: ProcessMetrics?
        if let path = configuration.metricsPath {
            do {
                file = try MetricsFile(path: path)
                process = try file?.claimProcessSlot()
            } catch {
                // Metrics are for operators; a service that cannot keep them still serves.
                Log.error("\(error); /metrics is off")
                file = nil
            }
        }
        metricsFile = file
        processMetrics = process
        var room: ChangeWaitRoom?
        if configuration.waitRoomCapacity > 0 {
            do {
                let feed = try configuration.backend.makeChangeFeed()
                // Before serving: a feed listening from the start wakes no waiter when it starts.
                feed.startListening()
                room = ChangeWaitRoom(feed: feed, capacity: configuration.waitRoomCapacity,
                                      perUserCapacity: configuration.maximumWaitsPerUser) { [dispatcher] fd in
                    dispatcher.watchForHangUp(fd)
                }
            } catch {
                // Live sync is a convenience over polling: without it, every wait answers at once.
                Log.error("live sync is off (sync requests with wait answer at once): \(error)")
            }
        }
        self.room = room
        databaseWaitRoom = DatabaseWaitRoom { [dispatcher] fd in dispatcher.watchForHangUp(fd) }
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, lets requests already sent finish and
    /// returns 0. On SIGHUP it calls `reload` and, when that succeeds, switches every thread to the
    /// new token settings. Returns 1 at once if a worker thread cannot start (so a supervisor
    /// restarts the service rather than leave a socket nobody serves), or if the dispatcher fails.
    public func run(reload: () -> JWTConfiguration?) -> Int32 {
        let dispatcherThread = WorkerThread { [self] in
            do {
                try dispatcher.run()
            } catch {
                Log.error("the connection dispatcher failed: \(error)")
                dispatcherFailed.store(true, ordering: .sequentiallyConsistent)
                kill(getpid(), SIGTERM)
            }
        }
        // Weak: the dispatcher belongs to the pool, and a strong capture would keep both alive for good.
        dispatcher.onParkedHangUp { [weak self] fd in self?.waiterHungUp(fd) }
        let threads = (0..<configuration.threads).map { _ in WorkerThread { [self] in work() } }
        let housekeeper = WorkerThread { [self] in keepHouse() }
        let databaseWaits = WorkerThread { [self] in
            databaseWaitRoom.run { held in
                dispatcher.stopWatching(held.pending.connection.descriptor)
                dispatcher.resume(held.pending.connection.descriptor, state: held)
            }
        }
        let waitRoom = room.map { room in
            WorkerThread { [self] in
                room.run { waiter, _ in
                    dispatcher.stopWatching(waiter.descriptor)
                    dispatcher.resume(waiter.descriptor, state: waiter)
                }
            }
        }
        while started.load(ordering: .sequentiallyConsistent) < threads.count { usleep(1000) }
        let failures = failedToStart.load(ordering: .sequentiallyConsistent)
        if failures == 0 {
            serveUntilStopped(reload: reload)
        } else {
            Log.error("\(failures) of \(threads.count) worker threads failed to start; exiting")
        }
        // Waiting sync requests are answered (the workers still serve) before connections close.
        room?.stop()
        databaseWaitRoom.stop()
        dispatcher.stop(graceSeconds: failures == 0 ? Self.keptConnectionGrace : 0)
        stopping.store(true, ordering: .sequentiallyConsistent)
        waitRoom?.join()
        databaseWaits.join()
        dispatcherThread.join()
        threads.forEach { $0.join() }
        housekeeper.join()
        if failures > 0 || dispatcherFailed.load(ordering: .sequentiallyConsistent) || storageFailed.load(ordering: .sequentiallyConsistent) {
            return 1
        }
        Log.notice("stopped")
        return 0
    }

    /// Waits for signals: on SIGHUP switches the workers to the settings `reload` gives (when it
    /// gives some); returns on SIGTERM or SIGINT.
    private func serveUntilStopped(reload: () -> JWTConfiguration?) {
        while Signals.waitForProcessSignal() == SIGHUP {
            if let fresh = reload() {
                jwt.withLock { $0 = fresh }
                generation.add(1, ordering: .sequentiallyConsistent)
                Log.notice("SIGHUP: reloaded the token settings; requests from now on use them")
            }
        }
        Log.notice("shutting down: no new connections, finishing the requests sent")
    }

    /// Twice a second, off the request path: keeps the JWKS fresh (a key removed at the source
    /// stops verifying new tokens within `JWKS_MAX_AGE` even if no token ever names an unknown
    /// key; a cheap lock when nothing is due, the fetch bounded by its timeouts), publishes this
    /// process's gauges to the metrics file, writes the access lines gathered, and every 5 s
    /// returns free heap pages.
    private func keepHouse() {
        var metricsDetachedLogged = false
        var feedDetachedLogged = false
        var ticks = 0
        while !stopping.load(ordering: .sequentiallyConsistent) {
            ticks += 1
            // Every 5 s: the threads' malloc arenas give their free pages back, so the RSS follows
            // what is in use rather than the largest burst so far (e.g. thousands of parked writes).
            if ticks % 10 == 0 { malloc_trim(0) }
            (jwt.withLock { $0.keys } as? JWKSKeyStore)?.refreshIfDue()
            publishProcessMetrics()
            Log.flushAccessLines()
            if !storageFailed.load(ordering: .relaxed), let reason = configuration.backend.fatalFailure {
                storageFailed.store(true, ordering: .sequentiallyConsistent)
                // Every write since is answered 503; the restart lets SQLite recover the WAL.
                Log.error("stopping: \(reason); exiting with status 1 so that the supervisor starts the worker again")
                kill(getpid(), SIGTERM)
            }
            if let feed = room?.feed, !feedDetachedLogged, !feed.checkIntact() {
                feedDetachedLogged = true
                Log.error("live sync's change file was shrunk or replaced under this process: it no longer shares changes "
                    + "with the processes that opened it since (its waiters wake on its own writes and at their deadline); "
                    + "restart the service")
            }
            if let metricsFile, !metricsDetachedLogged, !metricsFile.checkIntact() {
                metricsDetachedLogged = true
                Log.error("the metrics file \(metricsFile.path) was shrunk under this process: it stopped recording into it "
                    + "(/metrics shows only what it counts from now on); restart the service to make a new one")
            }
            usleep(500_000)
        }
    }

    /// This process's pool, connection, storage, JWKS and resource figures, into its slot.
    private func publishProcessMetrics() {
        guard let processMetrics else { return }
        let statistics = dispatcher.currentStatistics
        var sample = ProcessMetrics.Sample()
        sample.startTime = startTime
        sample.threads = UInt64(configuration.threads)
        // The dispatcher counts a parked request (or a waiting one) as in service; no thread holds it.
        let parked = parkedRequests.load(ordering: .relaxed)
        let waiting = room?.waiting.load(ordering: .relaxed) ?? 0
        sample.threadsBusy = UInt64(max(statistics.busy - parked - waiting, 0))
        sample.requestsParked = UInt64(max(parked, 0))
        sample.changeWaiters = UInt64(max(waiting, 0))
        sample.changeWakeUps = room?.wokenByChange.load(ordering: .relaxed) ?? 0
        sample.changeWaitTimeouts = room?.timedOut.load(ordering: .relaxed) ?? 0
        sample.connectionsOpen = UInt64(max(statistics.open, 0))
        sample.connectionsIdle = UInt64(max(statistics.idle, 0))
        sample.requestsQueued = UInt64(max(statistics.queued, 0))
        sample.connectionsAccepted = UInt64(statistics.accepted)
        sample.requestsShed = UInt64(statistics.shed)
        sample.queueWaitNanoseconds = statistics.waitedNanoseconds
        sample.requestsDequeued = UInt64(statistics.dequeued)
        sample.refusedPeers = UInt64(statistics.refusedPeers)
        sample.busyRetries = UInt64(max(configuration.backend.busyRetries, 0))
        if let keys = jwt.withLock({ $0.keys }) as? JWKSKeyStore {
            sample.jwksKeys = UInt64(keys.current.allKeys.count)
            sample.jwksLastSuccess = keys.lastSuccess.map { UInt64($0) } ?? 0
            sample.jwksFailures = UInt64(keys.consecutiveFailures)
        }
        let resources = ProcessResources.current(databaseFile: configuration.backend.databaseFile)
        sample.residentBytes = resources.residentBytes
        sample.openDescriptors = resources.openDescriptors
        sample.databaseBytes = resources.databaseBytes
        sample.walBytes = resources.walBytes
        sample.commits = UInt64(configuration.backend.commits)
        sample.databaseReconnections = UInt64(configuration.backend.reconnections)
        sample.databaseFailovers = UInt64(configuration.backend.failovers)
        let replicaReads = configuration.backend.replicaReads
        sample.standbyReadsServed = UInt64(replicaReads.served)
        sample.standbyReadsBehind = UInt64(replicaReads.behind)
        sample.standbyReadsUnavailable = UInt64(replicaReads.unavailable)
        processMetrics.publish(sample)
    }

    /// `/metrics`: this process's gauges freshly published, then every process's summed.
    func renderMetrics() -> (contentType: String, body: [UInt8]) {
        publishProcessMetrics()
        let text = metricsFile?.snapshot().prometheusText(version: buildVersion) ?? ""
        return (MetricsSnapshot.contentType, Array(text.utf8))
    }
}

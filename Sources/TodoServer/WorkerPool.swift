import CMalloc
import Clocks
import Dispatcher
import FastCGI
import JWT
import Locks
import Metrics
import SQLite
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
final class WorkerPool: Sendable {
    /// How long shutdown leaves idle kept-alive connections to nginx before closing them itself.
    /// nginx closes idle ones on its own (`keepalive_timeout 4s` in our upstream blocks), and
    /// only a close by nginx is free of the race with a request it has just sent (which nginx
    /// would answer 502 and, for a POST, not retry).
    static let keptConnectionGrace: Double = 5

    private let configuration: ServerConfiguration
    private let dispatcher: ConnectionDispatcher
    /// The token settings in force; replaced on SIGHUP. Workers compare `generation`
    /// (one atomic load per request) and rebuild their authenticator when it moved.
    private let jwt: Locked<JWTConfiguration>
    private let generation = Atomic<Int>(0)
    /// Workers that finished starting, and how many of them failed.
    private let started = Atomic<Int>(0)
    private let failedToStart = Atomic<Int>(0)
    /// Set when the pool stops: the key refresher then returns.
    private let stopping = Atomic<Bool>(false)
    /// Set when the dispatcher loop failed: the process then exits non-zero.
    private let dispatcherFailed = Atomic<Bool>(false)
    /// Set when the backend said the process cannot go on (`TaskBackend.fatalFailure`): the
    /// process then stops and exits non-zero, and its supervisor starts it again.
    private let storageFailed = Atomic<Bool>(false)
    /// The metrics shared with the other processes of this database; nil when off or unusable.
    private let metricsFile: MetricsFile?
    private let processMetrics: ProcessMetrics?
    private let startTime = UInt64(WallClock.seconds())
    /// Requests parked now, waiting for their writes' flush.
    private let parkedRequests = Atomic<Int>(0)
    /// Where sync requests wait for their users' changes; nil when waits are answered at once
    /// (`--max-waiters 0`, or no change feed).
    private let room: ChangeWaitRoom?

    init(configuration: ServerConfiguration, socket: Int32) throws {
        self.configuration = configuration
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
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, lets requests already sent finish and
    /// returns 0. On SIGHUP it calls `reload` and, when that succeeds, switches every thread to the
    /// new token settings. Returns 1 at once if a worker thread cannot start (so a supervisor
    /// restarts the service rather than leave a socket nobody serves), or if the dispatcher fails.
    func run(reload: () -> JWTConfiguration?) -> Int32 {
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
            while true {
                let signal = Signals.waitForProcessSignal()
                guard signal == SIGHUP else { break }
                if let fresh = reload() {
                    jwt.withLock { $0 = fresh }
                    generation.add(1, ordering: .sequentiallyConsistent)
                    Log.notice("SIGHUP: reloaded the token settings; requests from now on use them")
                }
            }
            Log.notice("shutting down: no new connections, finishing the requests sent")
        } else {
            Log.error("\(failures) of \(threads.count) worker threads failed to start; exiting")
        }
        // Waiting sync requests are answered (the workers still serve) before connections close.
        room?.stop()
        dispatcher.stop(graceSeconds: failures == 0 ? Self.keptConnectionGrace : 0)
        stopping.store(true, ordering: .sequentiallyConsistent)
        waitRoom?.join()
        dispatcherThread.join()
        threads.forEach { $0.join() }
        housekeeper.join()
        if failures > 0 || dispatcherFailed.load(ordering: .sequentiallyConsistent) || storageFailed.load(ordering: .sequentiallyConsistent) {
            return 1
        }
        Log.notice("stopped")
        return 0
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
        sample.busyRetries = UInt64(SQLiteConnection.busyRetries.load(ordering: .relaxed))
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
        processMetrics.publish(sample)
    }

    /// `/metrics`: this process's gauges freshly published, then every process's summed.
    private func renderMetrics() -> (contentType: String, body: [UInt8]) {
        publishProcessMetrics()
        let text = metricsFile?.snapshot().prometheusText(version: TodoCommandLine.version) ?? ""
        return (MetricsSnapshot.contentType, Array(text.utf8))
    }

    private func makeApplication(store: any TaskStore) throws -> (TodoApplication, Int) {
        let seen = generation.load(ordering: .sequentiallyConsistent)
        let settings = jwt.withLock { $0 }
        let metrics: (@Sendable () -> (contentType: String, body: [UInt8]))? = metricsFile == nil ? nil : { @Sendable [self] in renderMetrics() }
        var changeMarker: (@Sendable (ChangeKey) -> UInt64)?
        if let feed = room?.feed {
            changeMarker = { key in feed.marker(of: key) }
        }
        let application = TodoApplication(authenticator: try Authenticator(configuration: settings), store: store,
                                          cors: configuration.cors, metrics: metrics, changeMarker: changeMarker, log: Log.error)
        return (application, seen)
    }

    private func work() {
        let slot: FastCGIRequest
        let store: any TaskStore
        var application: TodoApplication
        var seenGeneration: Int
        // Without a slot (the file is full), this thread's requests are just not counted.
        let metrics = try? metricsFile?.claimThreadSlot()
        let parksWrites: Bool
        do {
            slot = try FastCGIRequest()
            store = try configuration.backend.makeStore()
            // Writes return once committed; a request waiting for its flush is parked (below).
            parksWrites = store.deferDurability()
            (application, seenGeneration) = try makeApplication(store: store)
        } catch {
            Log.error("worker failed to start: \(error)")
            failedToStart.add(1, ordering: .sequentiallyConsistent)
            started.add(1, ordering: .sequentiallyConsistent)
            return
        }
        started.add(1, ordering: .sequentiallyConsistent)
        // A thread about to wait for work writes the access lines gathered meanwhile.
        var next = dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        while let connection = next {
            if let waiter = connection.resumed as? ChangeWaiter {
                next = answerWaiter(waiter, application, store: store, metrics: metrics)
                continue
            }
            do {
                try slot.read(from: connection.descriptor)
            } catch {
                // The peer closed or sent no valid request; libfcgi has closed the connection.
                Log.write(.debug, "reading a request failed: \(error)")
                next = dispatcher.finished(keptDescriptor: nil, thenNext: Log.flushAccessLines)
                continue
            }
            if generation.load(ordering: .relaxed) != seenGeneration {
                do {
                    (application, seenGeneration) = try makeApplication(store: store)
                } catch {
                    Log.error("reloading the token settings failed, keeping the previous ones: \(error)")
                }
            }
            let (answered, answer) = serve(slot, application, connection: connection)
            // A peer that sent a request after this one before its answer (never nginx) gets
            // the connection closed: the bytes after this request are not silently dropped.
            let keep = !connection.closeAfterResponse && !slot.hasUnreadInput
            if let room, let wait = answered.record.reply.changeWait, let user = answered.record.reply.user {
                // Nothing after its cursor yet: the request waits for its user's next change, off
                // this thread and off its slot, which serves the next request.
                let waiter = ChangeWaiter(connection: slot.detach(keepConnection: keep), request: answered.request, user: user,
                                          deadline: MonotonicClock.nanoseconds() &+ UInt64(wait.seconds) * 1_000_000_000,
                                          answered: answered.record, marker: wait.marker)
                let admission = room.admit(waiter)
                switch admission {
                case .waiting:
                    break
                case .changedAlready:
                    dispatcher.resume(waiter.descriptor, state: waiter)
                case .full, .userShareTaken:
                    var record = waiter.answered
                    record.reply = application.waitRefused(waiter.request, user: user, userShareTaken: admission == .userShareTaken)
                    answerNow(waiter, with: record, metrics: metrics)
                case .closing:
                    answerNow(waiter, with: waiter.answered, metrics: metrics)
                }
                next = dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
                continue
            }
            if parksWrites, let wait = store.takeDurabilityWait() {
                // Its writes (or what its sync page shows) are committed, not yet durable: the
                // request waits, this thread goes on.
                park(slot.detach(keepConnection: keep), answer: answer, failedAnswer: application.notDurable(answered.request),
                     record: answered.record, metrics: metrics, until: wait)
                next = dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
                continue
            }
            do {
                for part in answer where !part.isEmpty { try slot.write(part) }
            } catch {
                // The web server went away mid-response; nothing is left to tell it.
                Log.write(.warn, "writing the response failed: \(error)")
            }
            let record = answered.record
            record.record(status: record.reply.response.status, storageFailure: record.reply.storageFailure, metrics: metrics)
            if record.reply.committedWrite, let user = record.reply.user { room?.feed.publish(user.changeKey) }
            next = dispatcher.finished(keptDescriptor: slot.finish(keepConnection: keep), thenNext: Log.flushAccessLines)
        }
    }

    /// Parks a request until `wait` settles: no thread holds it meanwhile; whoever flushes answers
    /// it (maybe this thread, at once), with `failedAnswer` (503) if the flush fails, and once
    /// durable publishes its user's change, if it wrote one, to live sync. The change is announced
    /// with the write's own answer; a waiter woken sooner by another change may read it first,
    /// and its page then waits for a flush that covers it (`SQLiteTaskStore.syncPage`), so no
    /// sync answer shows a change whose writer could still be told it failed.
    private func park(_ connection: DetachedFastCGIRequest, answer: [[UInt8]], failedAnswer: HTTPResponse, record: AnsweredRequest,
                      metrics: ThreadMetrics?, until wait: any DurabilityWait) {
        let parked = ParkedRequest(connection: connection, durableAnswer: answer, failedAnswer: Self.parts(of: failedAnswer),
                                   answered: record, metrics: metrics, done: { [self] kept in
                                       parkedRequests.subtract(1, ordering: .relaxed)
                                       dispatcher.finished(keptDescriptor: kept)
                                   })
        parkedRequests.add(1, ordering: .relaxed)
        let changed = record.reply.committedWrite ? record.reply.user?.changeKey : nil
        wait.whenDurable { [room] durable in
            if durable, let changed { room?.feed.publish(changed) }
            parked.complete(durable: durable)
        }
    }

    /// Writes `record`'s response as `waiter`'s answer, records it, and hands its connection back.
    private func answerNow(_ waiter: ChangeWaiter, with record: AnsweredRequest, metrics: ThreadMetrics?) {
        let kept = waiter.connection.respond(Self.parts(of: record.reply.response))
        record.record(status: record.reply.response.status, storageFailure: record.reply.storageFailure, metrics: metrics)
        dispatcher.finished(keptDescriptor: kept)
    }

    /// Reads the changes again for a waiter the room handed back, then answers it, or lets it wait
    /// again when there is still nothing (a change of another user sharing its marker); returns
    /// this thread's next connection.
    private func answerWaiter(_ waiter: ChangeWaiter, _ application: TodoApplication, store: any TaskStore,
                              metrics: ThreadMetrics?) -> ReadyConnection? {
        var record = waiter.answered
        record.reply = application.recheck(waiter.request, user: waiter.user)
        if !waiter.final, let room, let wait = record.reply.changeWait {
            waiter.marker = wait.marker
            switch room.admit(waiter) {
            case .waiting:
                return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
            case .changedAlready:
                dispatcher.resume(waiter.descriptor, state: waiter)
                return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
            case .full, .userShareTaken, .closing:
                break  // answered now with what it found: the empty page
            }
        }
        if let wait = store.takeDurabilityWait() {
            // The changes it found may include a commit not yet flushed.
            park(waiter.connection, answer: Self.parts(of: record.reply.response), failedAnswer: application.notDurable(waiter.request),
                 record: record, metrics: metrics, until: wait)
            return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        }
        // A client that went away as the answer came (its hang-up not seen first) fails the write: nothing to tell.
        let kept = waiter.connection.respond(Self.parts(of: record.reply.response))
        record.record(status: record.reply.response.status, storageFailure: record.reply.storageFailure, metrics: metrics)
        return dispatcher.finished(keptDescriptor: kept, thenNext: Log.flushAccessLines)
    }

    /// The dispatcher saw a waiting request's connection hang up (nginx closes it when its
    /// client goes away): the request ends here, unanswered, and costs nothing further.
    private func waiterHungUp(_ fd: Int32) {
        guard let waiter = room?.claim(descriptor: fd) else { return }
        waiter.connection.abandon()
        // 499: nginx's own code for a client that closed the request before its answer.
        waiter.answered.record(status: 499, storageFailure: nil, metrics: nil)
        dispatcher.finished(keptDescriptor: nil)
    }

    /// A response as the parts written for it: the CGI header, then the body.
    private static func parts(of response: HTTPResponse) -> [[UInt8]] {
        [response.cgiHeader(), response.body]
    }

    /// Answers the request on `slot` (without writing the answer yet): one that waited too long
    /// for a thread gets 503 at once (its body is still read, so the kept connection stays in step).
    private func serve(_ slot: FastCGIRequest, _ application: TodoApplication,
                       connection: ReadyConnection) -> (answered: (request: HTTPRequest, record: AnsweredRequest), answer: [[UInt8]]) {
        let began = MonotonicClock.nanoseconds()
        var builder = CGIRequestBuilder()
        slot.forEachParameter { name, value in builder.add(name: name, value: value) }
        let limit = connection.isOverdue ? 0 : HTTPRequest.maximumBodySize
        let body = slot.readBody(limit: limit, expected: builder.announcedLength ?? 0)
        let request = builder.build(body: body.bytes, bodyExceededLimit: body.exceededLimit)
        let reply = connection.isOverdue ? application.overloaded(request) : application.respond(to: request)
        let record = AnsweredRequest(method: request.method.rawValue, reply: reply, requestID: request.requestID, began: began,
                                     waitedNanoseconds: connection.waitedNanoseconds)
        return ((request, record), Self.parts(of: reply.response))
    }
}

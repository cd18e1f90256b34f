import Clocks
import Dispatcher
import FastCGI
import Metrics
import TaskModel
import TodoAPI

/// What one worker thread owns: its libfcgi request slot, its application (which owns the
/// thread's store) under the token settings of `generation`, and its metrics slot.
/// Not Sendable: it lives and dies on its thread.
final class WorkerContext {
    let slot: FastCGIRequest
    let application: TodoApplication
    /// The pool's token-settings generation the application authenticates with.
    var generation: Int
    /// Nil when the metrics file has no slot left: the thread's requests are just not counted.
    let metrics: ThreadMetrics?

    init(slot: FastCGIRequest, application: TodoApplication, generation: Int, metrics: ThreadMetrics?) {
        self.slot = slot
        self.application = application
        self.generation = generation
        self.metrics = metrics
    }
}

extension WorkerPool {
    /// A worker thread: takes a connection whose request arrived (or a waiting request due
    /// again), has the application answer it, and carries out how the application said it ends.
    func work() {
        guard let thread = startWorker() else { return }
        var next = dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        while let connection = next {
            if let waiter = connection.resumed as? ChangeWaiter {
                var pending = waiter.pending
                pending.reply = thread.application.recheck(pending.request, user: waiter.user)
                next = carryOut(pending, thread, resuming: waiter)
            } else if let held = connection.resumed as? HeldRequest {
                var pending = held.pending
                pending.reply = thread.application.respond(to: pending.request)
                next = carryOut(pending, thread, resuming: nil, held: held)
            } else if let pending = read(connection, thread) {
                next = carryOut(pending, thread, resuming: nil)
            } else {
                next = dispatcher.finished(keptDescriptor: nil, thenNext: Log.flushAccessLines)
            }
        }
    }

    /// The thread's slot, store and application; nil (counted as a failed start) when one
    /// cannot be made.
    private func startWorker() -> WorkerContext? {
        defer { started.add(1, ordering: .sequentiallyConsistent) }
        do {
            let slot = try FastCGIRequest()
            let seen = generation.load(ordering: .sequentiallyConsistent)
            let application = try makeApplication(store: try configuration.backend.makeStore())
            return WorkerContext(slot: slot, application: application, generation: seen, metrics: try? metricsFile?.claimThreadSlot())
        } catch {
            Log.error("worker failed to start: \(error)")
            failedToStart.add(1, ordering: .sequentiallyConsistent)
            return nil
        }
    }

    /// The application of a worker thread over its own store, with the token settings in force.
    private func makeApplication(store: any TaskStore) throws -> TodoApplication {
        let metrics: (@Sendable () -> (contentType: String, body: [UInt8]))? = metricsFile == nil ? nil : { @Sendable [self] in renderMetrics() }
        var changeMarker: (@Sendable (ChangeKey) -> UInt64)?
        if let feed = room?.feed {
            changeMarker = { key in feed.marker(of: key) }
        }
        // Writes return once committed; a reply that must wait for their flush says so (`.afterDurable`).
        return TodoApplication(authenticator: try Authenticator(configuration: jwt.withLock { $0 }), store: store,
                               cors: configuration.cors, metrics: metrics, changeMarker: changeMarker,
                               answersAfterDurability: true, waitsForTheDatabase: configuration.databaseWaitNanoseconds > 0,
                               log: Log.error)
    }

    /// Reads the request on `connection` with the thread's slot, has the application answer it
    /// (503 at once for one that waited too long for a thread: its body is still read, so the
    /// kept connection stays in step), and lets go of it from the slot. Nil when the peer closed
    /// or sent no valid request: libfcgi has closed the connection.
    private func read(_ connection: ReadyConnection, _ thread: WorkerContext) -> PendingRequest? {
        let slot = thread.slot
        do {
            try slot.read(from: connection.descriptor)
        } catch {
            Log.write(.debug, "reading a request failed: \(error)")
            return nil
        }
        useCurrentTokenSettings(thread)
        let began = MonotonicClock.nanoseconds()
        var builder = CGIRequestBuilder()
        slot.forEachParameter { name, value in builder.add(name: name, value: value) }
        let body = slot.readBody(limit: connection.isOverdue ? 0 : HTTPRequest.maximumBodySize, expected: builder.announcedLength ?? 0)
        let request = builder.build(body: body.bytes, bodyExceededLimit: body.exceededLimit)
        let reply = connection.isOverdue ? thread.application.overloaded(request) : thread.application.respond(to: request)
        // A peer that sent a request after this one before its answer (never nginx) gets the
        // connection closed after it: the bytes after this request are not silently dropped.
        let keep = !connection.closeAfterResponse && !slot.hasUnreadInput
        let answered = AnsweredRequest(method: request.method.rawValue, reply: reply, requestID: request.requestID, began: began,
                                       waitedNanoseconds: connection.waitedNanoseconds)
        return PendingRequest(connection: slot.detach(keepConnection: keep), request: request, answered: answered)
    }

    /// After SIGHUP, the thread's application authenticates with the new token settings.
    private func useCurrentTokenSettings(_ thread: WorkerContext) {
        let current = generation.load(ordering: .relaxed)
        guard current != thread.generation else { return }
        thread.generation = current
        do {
            thread.application.use(try Authenticator(configuration: jwt.withLock { $0 }))
        } catch {
            Log.error("reloading the token settings failed, keeping the previous ones: \(error)")
        }
    }

    /// Carries out how the application said `pending` ends (after its wait, for `waiter`; after
    /// waiting for the database, for `held`); returns this thread's next connection.
    private func carryOut(_ pending: PendingRequest, _ thread: WorkerContext, resuming waiter: ChangeWaiter?,
                          held: HeldRequest? = nil) -> ReadyConnection? {
        switch pending.reply.ending {
        case .whenAvailable:
            return holdUntilAvailable(pending, thread, held: held)
        case .now:
            return endNow(pending, thread)
        case .afterDurable(let wait, let failure):
            park(pending, failure: failure, until: wait, metrics: thread.metrics)
            return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        case .untilChange(let change):
            return waitForChange(pending, change, thread, resuming: waiter)
        }
    }

    /// Parks a request until `wait` settles: no thread holds it meanwhile; whoever flushes ends
    /// it (maybe this thread, at once), with `failure` (503) if the flush failed.
    private func park(_ pending: PendingRequest, failure: HTTPResponse, until wait: any DurabilityWait, metrics: ThreadMetrics?) {
        parkedRequests.add(1, ordering: .relaxed)
        wait.whenDurable { [self] durable in
            var settled = pending
            if !durable {
                let route = pending.reply.routeTemplate ?? "(no route)"
                Log.error("flushing the WAL failed: \(pending.answered.method) \(route) answered 503 "
                    + "(what it wrote or read is committed, not known durable) id=\(pending.answered.requestID ?? "-")")
                settled.reply.response = failure
                settled.reply.storageFailure = .unavailable
            }
            let kept = end(settled, metrics: metrics)
            parkedRequests.subtract(1, ordering: .relaxed)
            dispatcher.finished(keptDescriptor: kept)
        }
    }

    /// Lets a sync request wait, off any thread, for its user's next change; answers it now when
    /// it may not wait: on arrival with the room full or its user's share taken (503, 429),
    /// after a wait (then with the empty page) when it cannot wait again or its time is up.
    private func waitForChange(_ pending: PendingRequest, _ change: ChangeWait, _ thread: WorkerContext,
                               resuming waiter: ChangeWaiter?) -> ReadyConnection? {
        guard let room, let user = pending.reply.user, waiter?.final != true else {
            return endNow(pending, thread)
        }
        let waiting = waiter ?? ChangeWaiter(pending, user: user, deadline: MonotonicClock.nanoseconds() &+ UInt64(change.seconds) * 1_000_000_000,
                                             marker: change.marker)
        waiting.marker = change.marker
        var answer = pending
        let admission = room.admit(waiting)
        switch admission {
        case .waiting:
            return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        case .changedAlready:
            dispatcher.resume(waiting.descriptor, state: waiting)
            return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
        case .full where waiter == nil, .userShareTaken where waiter == nil:
            answer.reply = thread.application.waitRefused(pending.request, user: user, userShareTaken: admission == .userShareTaken)
        case .full, .userShareTaken, .closing:
            break  // the empty page it has
        }
        return endNow(answer, thread)
    }

    /// Holds a request the database could not take (nothing of it done) until it is tried again,
    /// holding no thread; answers it now (its 503) once its deadline passed or the process stops.
    private func holdUntilAvailable(_ pending: PendingRequest, _ thread: WorkerContext, held: HeldRequest?) -> ReadyConnection? {
        let now = MonotonicClock.nanoseconds()
        let deadline = held?.deadline ?? now &+ configuration.databaseWaitNanoseconds
        guard held?.final != true, now < deadline, databaseWaitRoom.hold(HeldRequest(pending, deadline: deadline)) else {
            return endNow(pending, thread)
        }
        return dispatcher.nextConnection(beforeWaiting: Log.flushAccessLines)
    }

    /// Ends `pending` now on this thread, and takes the thread's next connection.
    private func endNow(_ pending: PendingRequest, _ thread: WorkerContext) -> ReadyConnection? {
        dispatcher.finished(keptDescriptor: end(pending, metrics: thread.metrics), thenNext: Log.flushAccessLines)
    }

    /// The dispatcher saw a waiting request's connection hang up (nginx closes it when its
    /// client goes away): the request ends here, unanswered, and costs nothing further (a held
    /// one is not carried out).
    func waiterHungUp(_ fd: Int32) {
        if let waiter = room?.claim(descriptor: fd) {
            dispatcher.finished(keptDescriptor: end(waiter.pending, clientGone: true, metrics: nil))
        } else if let held = databaseWaitRoom.claim(descriptor: fd) {
            dispatcher.finished(keptDescriptor: end(held.pending, clientGone: true, metrics: nil))
        }
    }

    /// The one tail of every request, whichever way it ended: its reply's response written as
    /// the answer (or, its client gone, nothing: 499, nginx's own code for that), counted and
    /// logged. Returns the connection to hand back to the dispatcher; nil when it was closed (the
    /// peer asked, or went away). Live sync heard of its change from the store, once durable.
    private func end(_ pending: PendingRequest, clientGone: Bool = false, metrics: ThreadMetrics?) -> Int32? {
        let reply = pending.reply
        guard !clientGone else {
            pending.connection.abandon()
            pending.answered.record(status: 499, metrics: metrics)
            return nil
        }
        // A client that went away as the answer came fails the write: nothing is left to tell it.
        let kept = pending.connection.respond([reply.response.cgiHeader(), reply.response.body])
        pending.answered.record(status: reply.response.status, metrics: metrics)
        return kept
    }
}

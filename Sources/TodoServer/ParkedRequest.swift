import Clocks
import Dispatcher
import FastCGI
import JWT
import Locks
import Metrics
import TodoAPI

/// A FastCGI request slot on its way between threads: parked with its answer, completed by
/// whichever thread's flush made its writes durable, then kept for the next request.
///
/// `@unchecked Sendable` because `FastCGIRequest` (libfcgi's `FCGX_Request`) is not: the slot is
/// touched by exactly one thread at a time, and every hand-over goes through a mutex (the group
/// commit's, or `SlotShelf`'s), which orders the two threads' accesses. libfcgi keeps a
/// request's whole state in the request and its streams (no thread-local or global state on the
/// paths used after `FCGX_Accept_r`: `FCGX_PutStr`, `FCGX_Finish_r`), so the thread that
/// completes the request may be another than the one that read it (docs/OPERATIONS.md).
final class MovableSlot: @unchecked Sendable {
    let request: FastCGIRequest

    init(_ request: FastCGIRequest) {
        self.request = request
    }
}

/// Idle request slots shared by a process's workers: a worker whose slot was parked takes
/// another here (or makes one), and a completed parked request puts its slot back, so the
/// slots in use follow the requests in flight, not the threads.
final class SlotShelf: Sendable {
    private let slots = Locked<[MovableSlot]>([])
    /// Slots kept for reuse at most; more are freed (after a burst of parked writes).
    static let capacity = 256

    /// An idle slot, or a new one.
    func take() throws(FastCGIError) -> MovableSlot {
        if let slot = slots.withLock({ $0.popLast() }) { return slot }
        return MovableSlot(try FastCGIRequest())
    }

    /// Keeps `slot` (finished) for the next request.
    func put(_ slot: MovableSlot) {
        slots.withLock { if $0.count < Self.capacity { $0.append(slot) } }
    }
}

/// What a finished request leaves for the access log and the metrics: recorded by whichever
/// thread answers it.
struct AnsweredRequest: Sendable {
    var method: String
    var reply: Reply
    var requestID: String?
    var began: UInt64
    var waitedNanoseconds: UInt64

    /// Counts the request in `metrics` and writes its access-log line.
    func record(status: Int, storageFailure: String?, metrics: ThreadMetrics?) {
        let elapsedNanoseconds = MonotonicClock.nanoseconds() - began
        if let metrics {
            metrics.recordRequest(route: reply.routeTemplate, method: method, status: status, seconds: Double(elapsedNanoseconds) / 1e9)
            if let reason = reply.authFailureReason { metrics.recordAuthFailure(reason: reason) }
            if let kind = storageFailure { metrics.recordStorageError(kind: kind) }
            if reply.committedWrite, (200..<300).contains(status) { metrics.recordCommittedWrite() }
        }
        if Log.enabled(.info) {
            // Never the token or the user id itself: a short hash identifies a user across lines.
            let user = reply.user?.logID ?? "-"
            Log.access("\(method) \(reply.routeTemplate ?? "(no route)") \(status) \(elapsedNanoseconds / 1000)us "
                + "queued=\(waitedNanoseconds / 1000)us user=\(user) id=\(requestID ?? "-")")
        }
    }
}

/// A request answered but not yet acknowledged: its writes are committed and wait for the flush
/// that makes them durable. It holds its slot and both possible answers; no thread waits for it.
final class ParkedRequest: Sendable {
    private let slot: MovableSlot
    /// The answer once durable, and the one if the flush fails (503, as a failed write).
    private let durableAnswer: [[UInt8]]
    private let failedAnswer: [[UInt8]]
    private let answered: AnsweredRequest
    private let keepConnection: Bool
    private let metrics: ThreadMetrics?
    private let done: @Sendable (MovableSlot, _ keptDescriptor: Int32?) -> Void

    /// `done` gets the finished slot and the kept connection (nil when closed).
    init(slot: MovableSlot, durableAnswer: [[UInt8]], failedAnswer: [[UInt8]], answered: AnsweredRequest,
         keepConnection: Bool, metrics: ThreadMetrics?, done: @escaping @Sendable (MovableSlot, Int32?) -> Void) {
        self.slot = slot
        self.durableAnswer = durableAnswer
        self.failedAnswer = failedAnswer
        self.answered = answered
        self.keepConnection = keepConnection
        self.metrics = metrics
        self.done = done
    }

    /// Writes the answer the flush's outcome calls for, finishes the request and lets go of it.
    func complete(durable: Bool) {
        if !durable {
            Log.error("flushing the WAL failed: \(answered.method) \(answered.reply.routeTemplate ?? "(no route)") answered 503 "
                + "(committed, not known durable) id=\(answered.requestID ?? "-")")
        }
        let parts = durable ? durableAnswer : failedAnswer
        do {
            for part in parts where !part.isEmpty { try slot.request.write(part) }
        } catch {
            // The web server went away meanwhile; nothing is left to tell it.
            Log.write(.warn, "writing a parked response failed: \(error)")
        }
        answered.record(status: durable ? answered.reply.response.status : 503,
                        storageFailure: durable ? answered.reply.storageFailure : "unavailable", metrics: metrics)
        done(slot, slot.request.finish(keepConnection: keepConnection))
    }
}

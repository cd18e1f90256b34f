import Clocks
import Dispatcher
import FastCGI
import JWT
import Locks
import Metrics
import TodoAPI

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

/// A request answered but not yet acknowledged: its writes (or the commits its sync page shows)
/// are committed and wait for the flush that makes them durable. It holds its connection
/// (detached from libfcgi: the worker's slot serves the next request) and both possible
/// answers; no thread waits for it.
final class ParkedRequest: Sendable {
    private let connection: DetachedFastCGIRequest
    /// The answer once durable, and the one if the flush fails (503, as a failed write).
    private let durableAnswer: [[UInt8]]
    private let failedAnswer: [[UInt8]]
    private let answered: AnsweredRequest
    private let metrics: ThreadMetrics?
    private let done: @Sendable (_ keptDescriptor: Int32?) -> Void

    /// `done` gets the kept connection (nil when closed).
    init(connection: DetachedFastCGIRequest, durableAnswer: [[UInt8]], failedAnswer: [[UInt8]], answered: AnsweredRequest,
         metrics: ThreadMetrics?, done: @escaping @Sendable (Int32?) -> Void) {
        self.connection = connection
        self.durableAnswer = durableAnswer
        self.failedAnswer = failedAnswer
        self.answered = answered
        self.metrics = metrics
        self.done = done
    }

    /// Writes the answer the flush's outcome calls for, finishes the request and lets go of it.
    func complete(durable: Bool) {
        if !durable {
            Log.error("flushing the WAL failed: \(answered.method) \(answered.reply.routeTemplate ?? "(no route)") answered 503 "
                + "(what it wrote or read is committed, not known durable) id=\(answered.requestID ?? "-")")
        }
        // A web server that went away meanwhile fails the write; nothing is left to tell it.
        let kept = connection.respond(durable ? durableAnswer : failedAnswer)
        answered.record(status: durable ? answered.reply.response.status : 503,
                        storageFailure: durable ? answered.reply.storageFailure : "unavailable", metrics: metrics)
        done(kept)
    }
}

import Clocks
import FastCGI
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

    /// Counts the request, answered with `status`, in `metrics` and writes its access-log line.
    func record(status: Int, metrics: ThreadMetrics?) {
        let elapsedNanoseconds = MonotonicClock.nanoseconds() - began
        if let metrics {
            metrics.recordRequest(route: reply.routeTemplate, method: method, status: status, seconds: Double(elapsedNanoseconds) / 1e9)
            if let reason = reply.authFailureReason { metrics.recordAuthFailure(reason: reason) }
            if let kind = reply.storageFailure { metrics.recordStorageError(kind: kind) }
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

/// A request read and answered by the application, and let go of by the libfcgi slot that read
/// it: everything its ending needs, whichever way it ends (now, after a flush, after a change,
/// or its client hanging up), on whichever thread. It costs its rendered answer and a few bytes.
struct PendingRequest: Sendable {
    /// The connection and FastCGI request id the answer goes to.
    let connection: DetachedFastCGIRequest
    /// The request, kept for a sync request that reads its changes again after waiting.
    let request: HTTPRequest
    /// The reply (its response is the answer) and the access log's account of the request.
    var answered: AnsweredRequest

    /// The reply to `request`.
    var reply: Reply {
        get { answered.reply }
        set { answered.reply = newValue }
    }
}

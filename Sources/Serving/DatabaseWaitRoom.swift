import Clocks
import Locks

/// A request the database could not take, nothing of it done (`RequestEnding.whenAvailable`),
/// held until it is carried out again.
final class HeldRequest: @unchecked Sendable {
    /// The request, with the 503 it answers if the database never takes it.
    let pending: PendingRequest
    /// When it is answered with that 503 (`MonotonicClock` nanoseconds).
    let deadline: UInt64
    /// Set when the process stops: the next answer is final.
    var final = false

    init(_ pending: PendingRequest, deadline: UInt64) {
        self.pending = pending
        self.deadline = deadline
    }
}

/// Where requests wait while no database server takes them (a failover or switchover under
/// way): none holds a thread; the room's thread hands each back to the workers every
/// `retryNanoseconds` to be carried out again, until the database takes it or its deadline
/// passes. Bounded by the connections the dispatcher admits (each holds its own).
final class DatabaseWaitRoom: Sendable {
    private struct State {
        var held: [HeldRequest] = []
        var stopping = false
    }

    private let state = Locked(State())
    private let changed = LockCondition()
    /// How long a request waits between attempts.
    let retryNanoseconds: UInt64

    /// A room whose requests are tried again every `retryNanoseconds`.
    init(retryNanoseconds: UInt64 = 100_000_000) {
        self.retryNanoseconds = retryNanoseconds
    }

    /// Requests held now.
    var count: Int { state.withLock { $0.held.count } }

    /// Holds `request` until its next attempt; false when the process is stopping (answer it now).
    func hold(_ request: HeldRequest) -> Bool {
        let held = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.held.append(request)
            return true
        }
        if held { changed.signal() }
        return held
    }

    /// The room's thread: every `retryNanoseconds`, hands every held request to `due` (which
    /// gives it back to the workers), until `stop`; then hands out the rest, each final.
    func run(_ due: (HeldRequest) -> Void) {
        while true {
            // Asleep while empty; else one retry interval, cut short by a stop.
            state.withLock(waitingOn: changed, until: { !$0.held.isEmpty || $0.stopping }) { _ in }
            let (ready, stopping) = state.withLock(waitingOn: changed, until: { $0.stopping },
                                                   timeoutNanoseconds: retryNanoseconds) { state -> ([HeldRequest], Bool) in
                defer { state.held.removeAll() }
                return (state.held, state.stopping)
            }
            for request in ready {
                if stopping { request.final = true }
                due(request)
            }
            if stopping { return }
        }
    }

    /// Ends the room: every held request is handed out at once, final, and no more are held.
    func stop() {
        state.withLock { $0.stopping = true }
        changed.broadcast()
    }
}

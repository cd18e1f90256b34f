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
/// passes. Each is watched for its client hanging up meanwhile: whoever takes it out of the
/// room (its next attempt, the hang-up, a stop) owns it, so it leaves exactly once. Bounded by
/// the connections the dispatcher admits (each holds its own).
final class DatabaseWaitRoom: Sendable {
    private struct State {
        var held: [HeldRequest] = []
        var stopping = false
    }

    private let state = Locked(State())
    private let changed = LockCondition()
    /// How long a request waits between attempts.
    let retryNanoseconds: UInt64
    /// Starts watching a held request's connection for its client hanging up.
    private let watch: @Sendable (Int32) -> Void

    /// A room whose requests are tried again every `retryNanoseconds`, each connection watched
    /// with `watch` while held.
    init(retryNanoseconds: UInt64 = 100_000_000, watch: @escaping @Sendable (Int32) -> Void = { _ in }) {
        self.retryNanoseconds = retryNanoseconds
        self.watch = watch
    }

    /// Requests held now.
    var count: Int { state.withLock { $0.held.count } }

    /// Holds `request` until its next attempt; false when the process is stopping (answer it now).
    func hold(_ request: HeldRequest) -> Bool {
        // Watched before anyone else can take it out: a hang-up reported before it is in the
        // room finds nothing to claim, and it is tried once more (its answer goes nowhere).
        watch(request.pending.connection.descriptor)
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

    /// Takes out the request on `descriptor` (its client hung up); nil when it already left.
    func claim(descriptor: Int32) -> HeldRequest? {
        state.withLock { state in
            guard let index = state.held.firstIndex(where: { $0.pending.connection.descriptor == descriptor }) else { return nil }
            return state.held.remove(at: index)
        }
    }

    /// Ends the room: every held request is handed out at once, final, and no more are held.
    func stop() {
        state.withLock { $0.stopping = true }
        changed.broadcast()
    }
}

import Clocks
import Locks
import SQLite
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process's database takes writes, as `/health` reports it; shared by the
/// threads of a process.
///
/// The last write sets it. While writes fail for want of space or permission, `/health` tries
/// a small write of its own to see whether they work again, at most once per
/// `probeInterval` across the process: the probe takes the write turn, and `/health` is
/// unauthenticated, so it must not be a way to queue writes in front of users' requests.
public final class WriteHealth: Sendable {
    private struct State {
        var failing = false
        var lastProbe = -Double.infinity
        var lastProbeError: SQLiteError?
    }

    private let state = Locked(State())
    private let clock: @Sendable () -> Double
    /// The least time between two probe writes, in seconds.
    public let probeInterval: Double

    /// A record that starts healthy; `clock` returns seconds on a monotonic scale.
    public init(probeInterval: Double = 1, clock: @escaping @Sendable () -> Double = { Double(MonotonicClock.nanoseconds()) / 1e9 }) {
        self.probeInterval = probeInterval
        self.clock = clock
    }

    /// Whether the last write failed because the database could not take it (disk full,
    /// read-only, I/O error); cleared by the next successful write.
    public var writesFailing: Bool { state.withLock { $0.failing } }

    /// Records the outcome of a write.
    func record(writeSucceeded: Bool) {
        state.withLock { $0.failing = !writeSucceeded }
    }

    /// Runs `probe` unless one ran within `probeInterval`; then the earlier probe's outcome is
    /// repeated (its error thrown again) without touching the database.
    func probeIfDue(_ probe: () throws(SQLiteError) -> Void) throws(SQLiteError) {
        let now = clock()
        let earlier = state.withLock { state -> SQLiteError?? in
            guard now - state.lastProbe < probeInterval else {
                state.lastProbe = now
                return .none
            }
            return .some(state.lastProbeError)
        }
        if case .some(let outcome) = earlier {
            if let outcome { throw outcome }
            return
        }
        let result = Result { () throws(SQLiteError) in try probe() }
        state.withLock {
            if case .failure(let error) = result { $0.lastProbeError = error } else { $0.lastProbeError = nil }
        }
        try result.get()
    }
}

import Locks

/// A change feed within one process: the markers in this process's memory. The feed of the
/// in-memory backend, and the local half of a feed whose changes arrive from elsewhere (the
/// PostgreSQL listener calls `publish` for each notification, `publishEverything` after it may
/// have missed some).
public final class LocalChangeFeed: ChangeFeed, Sendable {
    private struct State {
        var buckets = [UInt64](repeating: 0, count: ChangeBuckets.count)
        var generation: UInt64 = 0
        /// Publications so far: what `awaitChange` compares.
        var published: UInt64 = 0
    }

    private let state = Locked(State())
    /// Broadcast after every publication.
    private let changed = LockCondition()

    /// A feed where nothing has changed yet.
    public init() {}

    public func marker(of key: ChangeKey) -> UInt64 {
        state.withLock { $0.buckets[ChangeBuckets.index(of: key)] &+ $0.generation }
    }

    public func publish(_ key: ChangeKey) {
        state.withLock { state in
            state.buckets[ChangeBuckets.index(of: key)] &+= 1
            state.published &+= 1
        }
        changed.broadcast()
    }

    /// Moves every marker: for when changes may have gone unheard (a listener reconnecting).
    public func publishEverything() {
        state.withLock { state in
            state.generation &+= 1
            state.published &+= 1
        }
        changed.broadcast()
    }

    public func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
        state.withLock(waitingOn: changed, until: { $0.published != seen }, timeoutNanoseconds: min(timeoutNanoseconds, 3_600_000_000_000)) {
            $0.published
        }
    }
}

import Clocks
import TaskModel
import Testing

/// Live sync's feed on every backend (contract §13): a write that changed a user's tasks is
/// announced by its store, once durable, and moves that user's marker in another process's feed
/// of the same database; other users' markers, and writes that changed nothing, move none.
@Suite struct ChangeFeedConformanceTests {
    /// A feed of another process of `database`, listening (PostgreSQL's connects on first use and
    /// then moves every marker once: what was notified before it listened is unknown); returns
    /// it and what `awaitChange` last returned.
    func listeningFeed(of database: FreshDatabase) throws -> (any ChangeFeed, UInt64) {
        let listener = try database.backendOfAnotherProcess().makeChangeFeed()
        var seen = listener.awaitChange(after: 0, timeoutNanoseconds: 0)
        let listening = MonotonicClock.nanoseconds() + 5_000_000_000
        while database.kind == .postgresql, seen == 0, MonotonicClock.nanoseconds() < listening {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        return (listener, seen)
    }

    @Test(arguments: BackendKind.available)
    func aStoresCommittedChangeMovesItsUsersMarkerInAnotherProcesssFeed(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        var (listener, seen) = try listeningFeed(of: database)
        let alice = ChangeKey(userID: "alice"), bob = ChangeKey(userID: "bob")
        #expect(ChangeBuckets.index(of: alice) != ChangeBuckets.index(of: bob))
        let aliceBefore = listener.marker(of: alice), bobBefore = listener.marker(of: bob)

        // Nobody publishes for the store: it announces its own durable change.
        let store = try database.store()
        _ = try store.create(userID: "alice", state: TaskState(title: "wakes alice"), now: 1_795_000_000_000)

        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while listener.marker(of: alice) == aliceBefore, MonotonicClock.nanoseconds() < deadline {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        #expect(listener.marker(of: alice) != aliceBefore)
        #expect(listener.marker(of: bob) == bobBefore)
    }

    /// A replayed keyed create, a merge that changes nothing, a refused update and a delete of
    /// nothing are no change: nobody is woken (hardening round 3, item 9, now held by the stores).
    @Test(arguments: BackendKind.available)
    func writesThatChangeNothingMoveNoMarker(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        var (listener, seen) = try listeningFeed(of: database)
        let alice = ChangeKey(userID: "alice")
        let initial = listener.marker(of: alice)
        let key = IdempotencyKey(key: "k-1", fingerprint: "body")
        guard case .created(let task) = try store.create(userID: "alice", state: TaskState(title: "t"), now: 1_795_000_000_000,
                                                         idempotency: key, render: { _ in [] }) else {
            Issue.record("no create")
            return
        }
        // The create is heard first (on PostgreSQL, shortly after its commit).
        let heard = MonotonicClock.nanoseconds() + 5_000_000_000
        while listener.marker(of: alice) == initial, MonotonicClock.nanoseconds() < heard {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        let before = listener.marker(of: alice)
        #expect(before != initial)
        _ = try store.create(userID: "alice", state: TaskState(title: "t"), now: 1_795_000_000_001, idempotency: key, render: { _ in [] })
        var same = TaskChanges()
        same.title = "t"
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.merge(same)), now: 1_795_000_000_002)
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.replace(same), ifMatch: "\"9\""), now: 1_795_000_000_003)
        _ = try store.delete(userID: "alice", id: task.id + 1000, deletion: TaskDeletion(), now: 1_795_000_000_004)
        let quiet = MonotonicClock.nanoseconds() + 700_000_000
        while MonotonicClock.nanoseconds() < quiet {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        #expect(listener.marker(of: alice) == before)
    }

    /// A process readies its feed before serving; after that, no marker moves unless something
    /// changed: the PostgreSQL listener's first connection (made then) wakes no waiter. (It used to
    /// be made by the first wait and move every marker: a full wait room emptied for a moment and
    /// let one more waiter in.)
    @Test(arguments: BackendKind.available)
    func aReadiedFeedMovesNoMarkerUntilSomethingChanges(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let feed = try database.backend.makeChangeFeed()
        feed.startListening()
        let alice = ChangeKey(userID: "alice")
        let before = feed.marker(of: alice)
        var seen: UInt64 = 0
        let quiet = MonotonicClock.nanoseconds() + 700_000_000
        while MonotonicClock.nanoseconds() < quiet {
            seen = feed.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        #expect(feed.marker(of: alice) == before)
    }
}

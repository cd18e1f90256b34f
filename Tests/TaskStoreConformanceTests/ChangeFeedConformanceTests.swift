import Clocks
import TaskModel
import Testing

/// Live sync's feed on every backend (contract §13): a committed change of a user, announced as
/// the server announces it (the write, then `publish` once durable), moves that user's marker in
/// another process's feed of the same database, and leaves other users' markers alone.
@Suite struct ChangeFeedConformanceTests {
    @Test(arguments: BackendKind.available)
    func aCommittedChangeMovesItsUsersMarkerInAnotherProcesssFeed(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let writer = try database.backend.makeChangeFeed()
        let listener = try database.backend.makeChangeFeed()
        let alice = ChangeKey(userID: "alice"), bob = ChangeKey(userID: "bob")
        #expect(ChangeBuckets.index(of: alice) != ChangeBuckets.index(of: bob))
        // The listener is listening before anything changes: PostgreSQL's connects on first use
        // and then moves every marker once (what was notified before it listened is unknown).
        var seen = listener.awaitChange(after: 0, timeoutNanoseconds: 0)
        let listening = MonotonicClock.nanoseconds() + 5_000_000_000
        while kind == .postgresql, seen == 0, MonotonicClock.nanoseconds() < listening {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        let aliceBefore = listener.marker(of: alice), bobBefore = listener.marker(of: bob)

        let store = try database.store()
        _ = try store.create(userID: "alice", state: TaskState(title: "wakes alice"), now: 1_795_000_000_000)
        writer.publish(alice)

        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while listener.marker(of: alice) == aliceBefore, MonotonicClock.nanoseconds() < deadline {
            seen = listener.awaitChange(after: seen, timeoutNanoseconds: 100_000_000)
        }
        #expect(listener.marker(of: alice) != aliceBefore)
        #expect(listener.marker(of: bob) == bobBefore)
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

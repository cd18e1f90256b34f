import Clocks
import FastCGI
import Locks
import TaskModel
import Testing
@testable import TodoAPI
@testable import Serving

#if canImport(Glibc)
import Glibc
#endif

/// The wait room: who is let in, and who leaves when (a change, a deadline, a hang-up, a stop),
/// each waiter exactly once.
@Suite struct ChangeWaitRoomTests {
    /// A waiter of `user` on a fresh socket-pair end (closed when the test process ends).
    func waiter(_ user: String, marker: UInt64, seconds: Double = 30) -> ChangeWaiter {
        var pair: [Int32] = [0, 0]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair)
        let request = HTTPRequest(method: .get, target: "/api/\(user)/tasks/changes?since=x&wait=30")
        let answered = AnsweredRequest(method: "GET", reply: Reply(response: HTTPResponse(status: 200)), requestID: nil,
                                       began: MonotonicClock.nanoseconds(), waitedNanoseconds: 0)
        let pending = PendingRequest(connection: DetachedFastCGIRequest(descriptor: pair[0], requestID: 1, keepsConnection: true),
                                     request: request, answered: answered)
        return ChangeWaiter(pending, user: AuthenticatedUser(id: user), deadline: MonotonicClock.nanoseconds() + UInt64(seconds * 1e9),
                            marker: marker)
    }

    @Test func admitsUpToItsCapacityWatchesEachAndRefusesAMovedMarker() {
        let feed = LocalChangeFeed()
        let watched = Locked<[Int32]>([])
        let room = ChangeWaitRoom(feed: feed, capacity: 2, perUserCapacity: 100) { fd in watched.withLock { $0.append(fd) } }
        let alice = ChangeKey(userID: "alice")
        let first = waiter("alice", marker: feed.marker(of: alice))
        #expect(room.admit(first) == .waiting)
        feed.publish(alice)
        #expect(room.admit(waiter("alice", marker: 0)) == .changedAlready)
        #expect(room.admit(waiter("alice", marker: feed.marker(of: alice))) == .waiting)
        #expect(room.admit(waiter("bob", marker: feed.marker(of: ChangeKey(userID: "bob")))) == .full)
        #expect(room.waiting.load(ordering: .relaxed) == 2)
        #expect(watched.withLock { $0.count } == 2)
        // A hang-up takes a waiter out once.
        #expect(room.claim(descriptor: first.descriptor) === first)
        #expect(room.claim(descriptor: first.descriptor) == nil)
        #expect(room.waiting.load(ordering: .relaxed) == 1)
    }

    /// Hardening round 3, item 3: one user cannot hold the whole room. Past its share a user's
    /// new wait is refused (429 upstream), while other users still get in; a user who leaves
    /// gets its place back. Users whose change keys share a bucket are still counted apart.
    @Test func eachUserHasAShareOfTheRoom() {
        let feed = LocalChangeFeed()
        let room = ChangeWaitRoom(feed: feed, capacity: 5, perUserCapacity: 2) { _ in }
        let marker = { (user: String) in feed.marker(of: ChangeKey(userID: user)) }
        let greedy = (0..<3).map { _ in waiter("greedy", marker: marker("greedy")) }
        #expect(room.admit(greedy[0]) == .waiting)
        #expect(room.admit(greedy[1]) == .waiting)
        #expect(room.admit(greedy[2]) == .userShareTaken)
        #expect(room.admit(waiter("other", marker: marker("other"))) == .waiting)
        #expect(room.admit(waiter("third", marker: marker("third"))) == .waiting)
        #expect(room.admit(waiter("third", marker: marker("third"))) == .waiting)
        // Full: five waiting; a newcomer gets the room's own refusal.
        #expect(room.admit(waiter("fourth", marker: marker("fourth"))) == .full)
        #expect(room.claim(descriptor: greedy[0].descriptor) === greedy[0])
        #expect(room.admit(greedy[2]) == .waiting)
        #expect(room.waiting.load(ordering: .relaxed) == 5)
    }

    @Test func handsOverOnAChangeOfItsUserOnItsDeadlineAndAllOnStopThenReturns() throws {
        let feed = LocalChangeFeed()
        let room = ChangeWaitRoom(feed: feed, capacity: 100, perUserCapacity: 100) { _ in }
        let alice = ChangeKey(userID: "alice"), bob = ChangeKey(userID: "bob"), carol = ChangeKey(userID: "carol")
        let aliceWaiters = (0..<3).map { _ in waiter("alice", marker: feed.marker(of: alice)) }
        let bobWaiter = waiter("bob", marker: feed.marker(of: bob), seconds: 0.3)
        let carolWaiter = waiter("carol", marker: feed.marker(of: carol))
        for each in aliceWaiters + [bobWaiter, carolWaiter] { #expect(room.admit(each) == .waiting) }
        let departures = Locked<[(ObjectIdentifier, ChangeWaitRoom.Departure, Bool, UInt64)]>([])
        let thread = WorkerThread {
            room.run { waiter, departure in
                departures.withLock { $0.append((ObjectIdentifier(waiter), departure, waiter.final, MonotonicClock.nanoseconds())) }
            }
        }
        usleep(50_000)
        let published = MonotonicClock.nanoseconds()
        feed.publish(alice)
        usleep(500_000)
        room.stop()
        thread.join()
        let seen = departures.withLock { $0 }
        #expect(seen.count == 5)
        #expect(Set(seen.map(\.0)).count == 5, "each waiter leaves once")
        for each in aliceWaiters {
            let departure = seen.first { $0.0 == ObjectIdentifier(each) }
            #expect(departure?.1 == .changed && departure?.2 == false)
            #expect((departure?.3 ?? .max) - published < 50_000_000, "woken within 50 ms")
        }
        let bobDeparture = seen.first { $0.0 == ObjectIdentifier(bobWaiter) }
        #expect(bobDeparture?.1 == .expired && bobDeparture?.2 == true)
        let carolDeparture = seen.first { $0.0 == ObjectIdentifier(carolWaiter) }
        #expect(carolDeparture?.1 == .stopping && carolDeparture?.2 == true)
        #expect(room.wokenByChange.load(ordering: .relaxed) == 3 && room.timedOut.load(ordering: .relaxed) == 1)
        #expect(room.admit(waiter("dave", marker: 0)) == .closing)
    }

    /// A local feed that counts the room's sleeps on it.
    final class CountingFeed: ChangeFeed, @unchecked Sendable {
        let inner = LocalChangeFeed()
        let sleeps = Locked(0)
        func marker(of key: ChangeKey) -> UInt64 { inner.marker(of: key) }
        func publish(_ key: ChangeKey) { inner.publish(key) }
        func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
            sleeps.withLock { $0 += 1 }
            return inner.awaitChange(after: seen, timeoutNanoseconds: timeoutNanoseconds)
        }
    }

    @Test func anEmptyRoomSleepsApartFromTheFeedAndItsFirstWaiterIsStillWokenAtOnce() throws {
        let feed = CountingFeed()
        let room = ChangeWaitRoom(feed: feed, capacity: 10, perUserCapacity: 100) { _ in }
        let woken = Locked<[UInt64]>([])
        let thread = WorkerThread { room.run { _, _ in woken.withLock { $0.append(MonotonicClock.nanoseconds()) } } }
        // Commits while no one waits: the room's thread never sleeps on the feed, so none wakes it.
        for index in 0..<200 {
            feed.publish(ChangeKey(userID: "someone-\(index)"))
            usleep(1000)
        }
        #expect(feed.sleeps.withLock { $0 } == 0)
        // A waiter that left at once (its client hung up) leaves an empty room: no busy loop on its deadline.
        let gone = waiter("gone", marker: feed.marker(of: ChangeKey(userID: "gone")), seconds: 0.05)
        #expect(room.admit(gone) == .waiting)
        #expect(room.claim(descriptor: gone.descriptor) === gone)
        usleep(300_000)
        #expect(feed.sleeps.withLock { $0 } < 20)
        // The first waiter after the quiet: woken by its change as fast as ever.
        let alice = ChangeKey(userID: "alice")
        #expect(room.admit(waiter("alice", marker: feed.marker(of: alice))) == .waiting)
        usleep(20_000)
        let published = MonotonicClock.nanoseconds()
        feed.publish(alice)
        usleep(200_000)
        room.stop()
        thread.join()
        let times = woken.withLock { $0 }
        #expect(times.count == 1)
        #expect((times.first ?? .max) - published < 50_000_000)
    }

    @Test func theDeadlineHeapGivesTheEarliestFirstWhateverTheInsertionOrder() {
        var heap = DeadlineHeap()
        let deadlines: [UInt64] = (0..<200).map { _ in UInt64.random(in: 0..<1_000_000) }
        for (serial, deadline) in deadlines.enumerated() { heap.insert(deadline, UInt64(serial)) }
        #expect(heap.earliest == deadlines.min())
        var popped: [UInt64] = []
        while let (deadline, _) = heap.popEarliest(notAfter: 500_000) { popped.append(deadline) }
        #expect(popped == deadlines.filter { $0 <= 500_000 }.sorted())
        #expect((heap.earliest ?? .max) > 500_000)
    }
}

import Clocks
import FastCGI
import Locks
import TaskModel
import Testing
@testable import TodoAPI
@testable import TodoServer

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
        return ChangeWaiter(connection: DetachedFastCGIRequest(descriptor: pair[0], requestID: 1, keepsConnection: true), request: request,
                            user: AuthenticatedUser(id: user), deadline: MonotonicClock.nanoseconds() + UInt64(seconds * 1e9),
                            answered: answered, marker: marker)
    }

    @Test func admitsUpToItsCapacityWatchesEachAndRefusesAMovedMarker() {
        let feed = LocalChangeFeed()
        let watched = Locked<[Int32]>([])
        let room = ChangeWaitRoom(feed: feed, capacity: 2) { fd in watched.withLock { $0.append(fd) } }
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

    @Test func handsOverOnAChangeOfItsUserOnItsDeadlineAndAllOnStopThenReturns() throws {
        let feed = LocalChangeFeed()
        let room = ChangeWaitRoom(feed: feed, capacity: 100) { _ in }
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

import Clocks
import FastCGI
import Locks
import Testing
@testable import TodoAPI
@testable import Serving

#if canImport(Glibc)
import Glibc
#endif

/// Requests waiting for a database server that takes them (#37, item 2): handed back to the
/// workers every retry interval, each once per interval; all of them, final, when the process stops.
@Suite struct DatabaseWaitRoomTests {
    private func held(_ descriptor: Int32) -> HeldRequest {
        let request = HTTPRequest(method: .post, target: "/api/alice/tasks")
        let answered = AnsweredRequest(method: "POST", reply: Reply(response: HTTPResponse(status: 503)), requestID: nil,
                                       began: MonotonicClock.nanoseconds(), waitedNanoseconds: 0)
        let pending = PendingRequest(connection: DetachedFastCGIRequest(descriptor: descriptor, requestID: 1, keepsConnection: true),
                                     request: request, answered: answered)
        return HeldRequest(pending, deadline: MonotonicClock.nanoseconds() + 15_000_000_000)
    }

    @Test func heldRequestsAreHandedBackAfterTheRetryIntervalAndAllOfThemFinalOnStop() throws {
        let room = DatabaseWaitRoom(retryNanoseconds: 50_000_000)
        let handed = Locked<[(descriptor: Int32, final: Bool, after: UInt64)]>([])
        let began = MonotonicClock.nanoseconds()
        let thread = WorkerThread {
            room.run { request in
                handed.withLock { $0.append((request.pending.connection.descriptor, request.final, MonotonicClock.nanoseconds() - began)) }
            }
        }
        #expect(room.hold(held(101)) && room.hold(held(102)))
        var waited = 0
        while handed.withLock({ $0.count }) < 2, waited < 200 {
            usleep(10_000)
            waited += 1
        }
        let first = handed.withLock { $0 }
        #expect(first.map(\.descriptor).sorted() == [101, 102])
        #expect(first.allSatisfy { !$0.final && $0.after >= 50_000_000 })  // not before the interval
        #expect(room.count == 0)  // handed back: each is held again only if it fails again

        #expect(room.hold(held(103)))
        room.stop()
        thread.join()
        let last = handed.withLock { $0 }.dropFirst(2)
        #expect(last.map(\.descriptor) == [103] && last.allSatisfy(\.final))  // at once, final: answered with their 503
        #expect(!room.hold(held(104)))  // stopping: answered at once
    }

    @Test func aHeldRequestIsWatchedAndOneWhoseClientHungUpLeavesOnceAndIsNeverTriedAgain() throws {
        let watched = Locked<[Int32]>([])
        let room = DatabaseWaitRoom(retryNanoseconds: 50_000_000) { fd in watched.withLock { $0.append(fd) } }
        let handed = Locked<[Int32]>([])
        let thread = WorkerThread { room.run { request in handed.withLock { $0.append(request.pending.connection.descriptor) } } }
        #expect(room.hold(held(201)) && room.hold(held(202)))
        #expect(watched.withLock { $0 } == [201, 202])
        let claimed = room.claim(descriptor: 201)
        #expect(claimed?.pending.connection.descriptor == 201)
        #expect(room.claim(descriptor: 201) == nil)  // it left once
        var waited = 0
        while handed.withLock({ $0.isEmpty }), waited < 200 {
            usleep(10_000)
            waited += 1
        }
        #expect(handed.withLock { $0 } == [202])  // the one whose client went is not tried again
        #expect(room.claim(descriptor: 202) == nil)  // handed out: a hang-up now finds nothing
        room.stop()
        thread.join()
    }
}

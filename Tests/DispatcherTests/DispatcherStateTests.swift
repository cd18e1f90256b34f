import Testing
@testable import Dispatcher
import Locks

/// The dispatcher's transitions, without sockets or threads: descriptors are plain numbers and
/// times are given.
@Suite("Dispatcher state")
struct DispatcherStateTests {
    private static let second: UInt64 = 1_000_000_000

    private func state(maximumConnections: Int = 4) -> DispatcherState {
        var settings = DispatcherSettings()
        settings.maximumConnections = maximumConnections
        settings.queueTimeoutNanoseconds = 5 * Self.second
        settings.requestTimeoutNanoseconds = 10 * Self.second
        settings.idleTimeoutNanoseconds = 60 * Self.second
        return DispatcherState(settings: settings)
    }

    /// `fds` accepted at `now`, each watched.
    private func accept(_ fds: [Int32], into state: inout DispatcherState, at now: UInt64 = 0) {
        for fd in fds {
            let watched = state.accepted(fd, now: now, watch: { _ in true })
            #expect(watched)
        }
    }

    private func served(_ take: DispatcherState.Take) -> ReadyConnection? {
        if case .ready(let connection) = take { return connection }
        return nil
    }

    @Test func aRequestGoesStraightToTheWorkerThatSleptLastAndQueuesOnlyWhenNoneSleeps() throws {
        var state = state()
        accept([10, 11, 12], into: &state)
        let first = Sleeper(), second = Sleeper()
        guard case .empty = state.take(now: 0) else { Issue.record("took work from an empty queue"); return }
        guard case .asleep = state.take(now: 0, orSleep: first), case .asleep = state.take(now: 0, orSleep: second) else {
            Issue.record("a sleeper was not kept"); return
        }
        #expect(state.snapshot.sleeping == 2)
        let offered = state.requestArrived(on: 10, now: 5, closeAfterResponse: false)
        let handOver = try #require(offered)
        #expect(handOver.sleeper === second)
        #expect(handOver.connection.descriptor == 10)
        handOver.carryOut()
        #expect(second.take()?.descriptor == 10)
        let sleeperLeft = state.requestArrived(on: 11, now: 6, closeAfterResponse: true)
        let noSleeperLeft = state.requestArrived(on: 12, now: 7, closeAfterResponse: false)
        #expect(sleeperLeft != nil && noSleeperLeft == nil)
        let snapshot = state.snapshot
        #expect(snapshot.queued == 1 && snapshot.sleeping == 0 && snapshot.busy == 2 && snapshot.idle == 0 && snapshot.open == 3)
        let queued = state.take(now: 8)
        #expect(served(queued)?.descriptor == 12)
    }

    @Test func queuedRequestsAreServedInArrivalOrderWithTheirWaitMeasured() throws {
        let take = { (state: inout DispatcherState, now: UInt64) in try #require(self.served(state.take(now: now))) }
        var state = state()
        accept([20, 21, 22], into: &state)
        _ = state.requestArrived(on: 21, now: 100, closeAfterResponse: true)
        _ = state.requestArrived(on: 20, now: 200, closeAfterResponse: false)
        let resumed = ReadyConnection(descriptor: 22, readySince: 300)
        var parked = resumed
        parked.resumed = Sleeper()  // any object: a resumed request's state
        _ = state.resume(parked, now: 300)
        #expect(state.snapshot.busy == -1)  // a resumed request was counted busy when it parked

        let a = try take(&state, 1_100)
        #expect(a.descriptor == 21 && a.closeAfterResponse && a.waitedNanoseconds == 1_000 && !a.isOverdue)
        let b = try take(&state, 200 + 6 * Self.second)
        #expect(b.descriptor == 20 && b.isOverdue)
        let c = try take(&state, 300 + 9 * Self.second)
        #expect(c.descriptor == 22 && !c.isOverdue)  // accepted already: answered however long it queued
        let snapshot = state.snapshot
        #expect(snapshot.shed == 1 && snapshot.dequeued == 3 && snapshot.busy == 2)
        #expect(snapshot.waitedNanoseconds == 1_000 + 6 * Self.second + 9 * Self.second)
    }

    @Test func aRequestStampedAfterTheTakersClockWaitedNothing() throws {
        var state = state()
        accept([5], into: &state)
        _ = state.requestArrived(on: 5, now: 1_000, closeAfterResponse: false)
        let taken = state.take(now: 999)
        let connection = try #require(served(taken))
        #expect(connection.waitedNanoseconds == 0 && !connection.isOverdue)
    }

    @Test func aKeptConnectionGoesBackToTheIdleSetWatchedAgainOrIsClosedWhenItCannotBe() throws {
        var state = state()
        accept([30, 31], into: &state)
        _ = state.requestArrived(on: 30, now: 1, closeAfterResponse: false)
        _ = state.requestArrived(on: 31, now: 1, closeAfterResponse: false)
        _ = state.take(now: 2)
        _ = state.take(now: 2)
        var watched: [Int32] = []
        let kept = state.release(30, now: 3) { watched.append($0); return true }
        #expect(kept == DispatcherState.Release(closeNow: nil, wakeDispatcher: false))
        #expect(watched == [30])
        let refused = state.release(31, now: 3) { _ in false }
        #expect(refused.closeNow == 31)
        let snapshot = state.snapshot
        #expect(snapshot.idle == 1 && snapshot.open == 1 && snapshot.busy == 0)
        guard case .watched = state.readiness(of: 30), case .stale = state.readiness(of: 31) else {
            Issue.record("the kept connection is not watched, or the closed one is"); return
        }
    }

    @Test func theDispatcherIsWokenWhenRoomOpensAtTheLimitOrWhileStopping() throws {
        var state = state(maximumConnections: 2)
        accept([1, 2], into: &state)
        #expect(state.isFull)
        for fd: Int32 in [1, 2] { _ = state.requestArrived(on: fd, now: 0, closeAfterResponse: false); _ = state.take(now: 0) }
        #expect(!state.canAccept)  // at the limit, every connection at work
        let kept = state.release(1, now: 1) { _ in true }
        #expect(kept.wakeDispatcher && state.canAccept)  // kept at the limit: room a new one can take
        let closed = state.release(nil, now: 1) { _ in true }
        #expect(closed.wakeDispatcher)  // one below the limit
        accept([3], into: &state)
        _ = state.requestArrived(on: 3, now: 2, closeAfterResponse: false)
        _ = state.take(now: 2)
        state.stop(now: 10, graceNanoseconds: Self.second)
        var watched = false
        let beforeGrace = state.release(3, now: 11) { _ in watched = true; return true }
        #expect(watched && beforeGrace.closeNow == nil)
        _ = state.requestArrived(on: 3, now: 12, closeAfterResponse: false)
        _ = state.take(now: 12)
        let afterGrace = state.release(3, now: 10 + Self.second) { _ in Issue.record("watched past the grace"); return true }
        #expect(afterGrace == DispatcherState.Release(closeNow: 3, wakeDispatcher: true))
    }

    @Test func roomIsMadeFromTheLongestIdleThenTheOldestPartialRequest() {
        var state = state(maximumConnections: 3)
        accept([40], into: &state, at: 50)
        accept([41], into: &state, at: 10)
        accept([42], into: &state, at: 30)
        var victims = [state.makeRoom(), state.makeRoom()]
        state.requestPartlyArrived(on: 40, now: 60)
        accept([43], into: &state, at: 70)
        state.requestPartlyArrived(on: 43, now: 80)
        victims += [state.makeRoom(), state.makeRoom(), state.makeRoom()]
        #expect(victims == [41, 42, 40, 43, nil])
        #expect(state.snapshot.closedIdle == 4 && state.snapshot.open == 0)
    }

    @Test func aNewConnectionThatCannotBeWatchedIsNeverCounted() {
        var state = state()
        let watched = state.accepted(7, now: 0, watch: { _ in false })
        let closedHere = state.peerClosed(7)
        #expect(!watched && !closedHere)
        #expect(state.snapshot.open == 0 && state.snapshot.accepted == 0 && state.snapshot.idle == 0)
    }

    @Test func aParkedConnectionsHangUpIsReportedOnceAndNotAfterItWasTakenBack() {
        var state = state()
        let heard = Locked<[Int32]>([])
        state.hangUpHandler = { fd in heard.withLock { $0.append(fd) } }
        state.park(9)
        guard case .parkedHungUp(let handler) = state.readiness(of: 9) else { Issue.record("not reported"); return }
        handler?(9)
        #expect(heard.withLock { $0 } == [9])
        guard case .stale = state.readiness(of: 9) else { Issue.record("reported twice"); return }
        state.park(8)
        state.unpark(8)
        guard case .stale = state.readiness(of: 8) else { Issue.record("reported after it was taken back"); return }
    }

    @Test func aPartialRequestIsWatchedAgainWhenDueAndGivenUpAtItsDeadline() {
        var state = state()
        accept([50, 51], into: &state)
        state.requestPartlyArrived(on: 50, now: 0)  // due again 1 ms later
        var watched: [Int32] = []
        var sweep = state.sweep(now: 500_000) { watched.append($0) }
        #expect(watched.isEmpty && sweep.timeoutMilliseconds == 1)
        sweep = state.sweep(now: 1_000_000) { watched.append($0) }
        #expect(watched == [50])
        sweep = state.sweep(now: 2_000_000) { watched.append($0) }
        #expect(watched == [50])  // watched once: its next event says what is there
        state.requestPartlyArrived(on: 50, now: 3_000_000)  // the pause doubles: 2 ms
        _ = state.sweep(now: 4_000_000) { watched.append($0) }
        #expect(watched == [50])
        _ = state.sweep(now: 5_000_000) { watched.append($0) }
        #expect(watched == [50, 50])
        sweep = state.sweep(now: 10 * Self.second + 1) { _ in }
        #expect(sweep.toClose == [50])
        let snapshot = state.snapshot
        #expect(snapshot.timedOutRequests == 1 && snapshot.arriving == 0 && snapshot.open == 1)
        guard case .watched = state.readiness(of: 51) else { Issue.record("the idle one is gone"); return }
    }

    @Test func idleConnectionsAreGivenUpPastTheIdleTimeoutButNotOneHandedBackAfterTheSweepsClock() {
        var state = state()
        accept([60], into: &state, at: 0)
        accept([61], into: &state, at: 30 * Self.second)
        accept([62], into: &state, at: 0)
        _ = state.requestArrived(on: 62, now: 1, closeAfterResponse: false)
        _ = state.take(now: 1)
        // A worker hands 62 back with a clock reading later than the one the sweep took.
        _ = state.release(62, now: 61 * Self.second + 5) { _ in true }
        let sweep = state.sweep(now: 61 * Self.second) { _ in }
        #expect(sweep.toClose == [60])
        #expect(state.snapshot.closedIdle == 1 && state.snapshot.idle == 2)
        let later = state.sweep(now: 91 * Self.second + 1) { _ in }
        #expect(later.toClose == [61])
        // Checked once a second, not after every batch of events.
        accept([63], into: &state, at: 0)
        let withinTheSecond = state.sweep(now: 91 * Self.second + Self.second / 2) { _ in }
        let aSecondLater = state.sweep(now: 92 * Self.second + 1) { _ in }
        #expect(withinTheSecond.toClose.isEmpty && aSecondLater.toClose == [63])
    }

    @Test func stoppingStopsListeningClosesEverythingPastTheGraceAndEndsTheLoopWhenNoneIsOpen() throws {
        var state = state()
        state.startedListening()
        accept([70, 71], into: &state)
        state.requestPartlyArrived(on: 71, now: 0)
        let listening = state.sweep(now: 100) { _ in }
        #expect(listening.listen == nil)
        state.stop(now: 1_000, graceNanoseconds: Self.second)
        state.stop(now: 5 * Self.second, graceNanoseconds: 0)  // a second stop moves nothing
        var sweep = state.sweep(now: 2_000) { _ in }
        #expect(sweep.listen == false && sweep.toClose.isEmpty && sweep.timeoutMilliseconds == 50)
        sweep = state.sweep(now: 1_000 + Self.second) { _ in }
        #expect(sweep.toClose.sorted() == [70, 71] && sweep.listen == nil && sweep.timeoutMilliseconds == nil)
        #expect(state.snapshot.timedOutRequests == 0)  // closed by the stop, not a timeout
    }

    @Test func acceptingPausedForWantOfDescriptorsResumesWhenThePauseIsOver() {
        var state = state()
        state.startedListening()
        state.pauseAccepting(until: 100_000_000)
        #expect(!state.listening)
        var sweep = state.sweep(now: 50_000_000) { _ in }
        #expect(sweep.listen == nil && sweep.timeoutMilliseconds == 50)
        sweep = state.sweep(now: 100_000_000) { _ in }
        #expect(sweep.listen == true && state.listening && sweep.timeoutMilliseconds == 1_000)
    }

    @Test func atTheLimitWithEveryConnectionAtWorkAcceptingWaitsForRoom() {
        var state = state(maximumConnections: 1)
        state.startedListening()
        accept([80], into: &state)
        _ = state.requestArrived(on: 80, now: 0, closeAfterResponse: false)
        _ = state.take(now: 0)
        state.stoppedListening()
        let full = state.sweep(now: 1) { _ in }
        _ = state.release(nil, now: 2) { _ in true }
        let room = state.sweep(now: 3) { _ in }
        #expect(full.listen == nil && room.listen == true)
    }

    @Test func drainingLetsEverySleeperGoButQueuedWorkIsServedFirst() throws {
        var state = state()
        accept([90], into: &state)
        let sleeper = Sleeper()
        _ = state.take(now: 0, orSleep: sleeper)
        let sleepers = state.drain()
        #expect(sleepers.count == 1 && sleepers[0] === sleeper && state.snapshot.sleeping == 0)
        _ = state.requestArrived(on: 90, now: 1, closeAfterResponse: false)  // nobody asleep: queued
        let queued = state.take(now: 2)
        #expect(served(queued)?.descriptor == 90)
        guard case .drained = state.take(now: 3, orSleep: Sleeper()) else { Issue.record("a worker slept after the drain"); return }
    }

    @Test func aPeerClosingIsCountedOnlyForAConnectionThatIsWatched() {
        var state = state()
        accept([100, 101], into: &state)
        state.requestPartlyArrived(on: 101, now: 0)
        let closed = [state.peerClosed(100), state.peerClosed(101), state.peerClosed(100)]
        #expect(closed == [true, true, false])
        #expect(state.snapshot.open == 0)
        accept([102], into: &state)
        state.refused(102)
        #expect(state.snapshot.open == 0 && state.snapshot.refusedRequests == 1)
    }
}

import Locks
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Waiting on a `Locked` value until it is ready: woken by whoever changed it, or the time is up.
struct LockConditionTests {
    /// Monotonic nanoseconds, for measuring waits.
    func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    @Test func aWaiterRunsOnceTheValueIsReadyAndSeesIt() {
        let value = Locked(0)
        let changed = LockCondition()
        let seen = Locked<Int?>(nil)
        let waiter = WorkerThread {
            let found = value.withLock(waitingOn: changed, until: { $0 >= 3 }) { $0 }
            seen.withLock { $0 = found }
        }
        for _ in 0..<3 {
            usleep(10_000)
            #expect(seen.withLock { $0 } == nil)  // not ready yet: still asleep
            value.withLock { $0 += 1 }
            changed.broadcast()
        }
        waiter.join()
        #expect(seen.withLock { $0 } == 3)
    }

    @Test func aWaitEndsAtItsTimeoutWhenNothingChanges() {
        let value = Locked(0)
        let changed = LockCondition()
        let began = now()
        let ready = value.withLock(waitingOn: changed, until: { $0 > 0 }, timeoutNanoseconds: 50_000_000) { $0 > 0 }
        let waited = now() - began
        #expect(!ready)
        #expect(waited >= 50_000_000 && waited < 2_000_000_000)
        // Already ready: no wait at all.
        value.withLock { $0 = 1 }
        let quick = now()
        #expect(value.withLock(waitingOn: changed, until: { $0 > 0 }, timeoutNanoseconds: 5_000_000_000) { $0 } == 1)
        #expect(now() - quick < 1_000_000_000)
    }
}

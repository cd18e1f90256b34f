import SQLite

#if canImport(Glibc)
import Glibc
#endif

/// Lets one thread of this process write at a time, in arrival order.
///
/// SQLite allows one writer per database. Left to itself, every worker thread would
/// contend for the write lock and poll in the busy handler; a plain mutex hands the turn to
/// whichever thread the scheduler runs first, and under load some writers starved for over
/// a second (measured). Here waiters queue, and the finishing writer hands the turn to the
/// oldest waiter directly, waking only that thread. Writers in other processes still meet
/// SQLite's busy timeout, but at most one per process.
public final class WriteGate: @unchecked Sendable {
    // @unchecked: all mutable state is touched only with `mutex` held; the pthread
    // objects live at fixed heap addresses for their owners' lifetimes.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var busy = false
    private var waiters: [Waiter] = []
    private var head = 0

    /// One queued thread: its own condition variable, so a hand-over wakes only it.
    private final class Waiter {
        let condition: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)
        var granted = false
        init() { pthread_cond_init(condition, nil) }
        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }
    }

    /// Creates a gate; share one instance between all threads of a process.
    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` once every earlier caller has finished its turn.
    func withTurn<Result>(_ body: () throws(SQLiteError) -> Result) throws(SQLiteError) -> Result {
        pthread_mutex_lock(mutex)
        if busy {
            let waiter = Waiter()
            waiters.append(waiter)
            while !waiter.granted {
                pthread_cond_wait(waiter.condition, mutex)
            }
        } else {
            busy = true
        }
        pthread_mutex_unlock(mutex)
        defer { handOver() }
        return try body()
    }

    /// Passes the turn to the oldest waiter, or frees the gate when nobody waits.
    private func handOver() {
        pthread_mutex_lock(mutex)
        if head < waiters.count {
            let next = waiters[head]
            head += 1
            if head == waiters.count {
                waiters.removeAll(keepingCapacity: true)
                head = 0
            }
            next.granted = true
            pthread_cond_signal(next.condition)
        } else {
            busy = false
        }
        pthread_mutex_unlock(mutex)
    }
}

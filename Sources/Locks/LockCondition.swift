#if canImport(Glibc)
import Glibc
#endif

/// A condition variable for the threads that wait on a `Locked` value: they sleep (the value's
/// mutex released) until a thread that changed the value wakes them, or their time is up. Its
/// clock is the monotonic one, so a wall-clock step never stretches or cuts a wait.
///
/// `@unchecked Sendable`: a pthread condition exists to be shared between threads, and it is
/// only waited on with its `Locked` value's mutex held (`Locked.withLock(waitingOn:until:…)`).
public final class LockCondition: @unchecked Sendable {
    let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A condition nobody waits on yet.
    public init() {
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Wakes every thread waiting on it (each then checks whether it is ready).
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Wakes one thread waiting on it.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// The monotonic instant `nanoseconds` from now, as `pthread_cond_timedwait` wants it.
    static func deadline(in nanoseconds: UInt64) -> timespec {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        return deadline
    }
}

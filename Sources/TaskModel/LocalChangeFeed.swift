#if canImport(Glibc)
import Glibc
#endif

/// A change feed within one process: the markers in this process's memory. The feed of the
/// in-memory backend, and the local half of a feed whose changes arrive from elsewhere (the
/// PostgreSQL listener calls `publish` for each notification, `publishEverything` after it may
/// have missed some).
///
/// A pthread mutex and condition (understood by the thread sanitizer); `@unchecked Sendable`:
/// the state is only touched with the mutex held.
public final class LocalChangeFeed: ChangeFeed, @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var buckets = [UInt64](repeating: 0, count: ChangeBuckets.count)
    private var generation: UInt64 = 0
    /// Publications so far: what `awaitChange` compares.
    private var published: UInt64 = 0

    /// A feed where nothing has changed yet.
    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        changed = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(changed)
        changed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func marker(of key: ChangeKey) -> UInt64 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return buckets[ChangeBuckets.index(of: key)] &+ generation
    }

    public func publish(_ key: ChangeKey) {
        pthread_mutex_lock(mutex)
        buckets[ChangeBuckets.index(of: key)] &+= 1
        published &+= 1
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(changed)
    }

    /// Moves every marker: for when changes may have gone unheard (a listener reconnecting).
    public func publishEverything() {
        pthread_mutex_lock(mutex)
        generation &+= 1
        published &+= 1
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(changed)
    }

    public func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + min(timeoutNanoseconds, 3_600_000_000_000)
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while published == seen {
            if pthread_cond_timedwait(changed, mutex, &deadline) == ETIMEDOUT { break }
        }
        return published
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, shared between threads.
///
/// Not the standard library's `Mutex`: on Linux that one waits on a futex the thread sanitizer
/// does not see, so every access it orders is reported as a race, and a sanitizer that cries
/// wolf would hide a real one. A pthread mutex is understood by the sanitizer.
/// `@unchecked Sendable`: the value is only touched with the mutex held.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// `value`, behind a new mutex.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, the mutex held.
    @inlinable
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body(&valueStorage)
    }

    /// Runs `body` with the value, the mutex held, once `isReady` holds for it: until then the
    /// thread sleeps on `condition` (the mutex released meanwhile), woken by whoever changes the
    /// value and then broadcasts or signals it. With `timeoutNanoseconds`, `body` runs after that
    /// long even if the value is not ready (it can tell by looking).
    public func withLock<Result>(waitingOn condition: LockCondition, until isReady: (Value) -> Bool,
                                 timeoutNanoseconds: UInt64? = nil, _ body: (inout Value) throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        if let timeoutNanoseconds {
            var deadline = LockCondition.deadline(in: timeoutNanoseconds)
            while !isReady(value) {
                if pthread_cond_timedwait(condition.condition, mutex, &deadline) == ETIMEDOUT { break }
            }
        } else {
            while !isReady(value) { pthread_cond_wait(condition.condition, mutex) }
        }
        return try body(&value)
    }

    // Accessors for the inlinable entry point.
    @usableFromInline func lock() { pthread_mutex_lock(mutex) }
    @usableFromInline func unlock() { pthread_mutex_unlock(mutex) }
    @usableFromInline var valueStorage: Value {
        get { value }
        _modify { yield &value }
    }
}

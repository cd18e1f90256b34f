#if canImport(Glibc)
import Glibc
#endif

/// One value handed from one thread to another that sleeps until it comes: given once, taken
/// once. The taker wakes owning the value without taking any lock its giver holds or held, so
/// it never contends with the thread that woke it.
///
/// `@unchecked Sendable`: `value` is written before the semaphore is posted and read only after
/// the wait on it returned, which orders the two.
public final class HandOff<Value: Sendable>: @unchecked Sendable {
    private let semaphore: UnsafeMutablePointer<sem_t>
    private var value: Value?

    /// A hand-off nothing was given to yet.
    public init() {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Gives `value` to the taker, waking it. Called once.
    public func give(_ value: Value) {
        self.value = value
        sem_post(semaphore)
    }

    /// Sleeps until the value is given, and returns it. Called once.
    public func take() -> Value {
        while sem_wait(semaphore) != 0 {}  // EINTR: a signal came first
        // Set before the post this wait consumed.
        return value.unsafelyUnwrapped
    }
}

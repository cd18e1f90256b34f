#if canImport(Glibc)
import Glibc
#endif

/// Values handed from one thread to another through a queue of at most `capacity`, so a fast
/// sender waits for a slow receiver instead of filling memory.
///
/// The sender ends with `finish()`; the receiver may give up with `cancel()`, after which
/// `send` returns false at once. A pthread mutex and condition variables, which the thread
/// sanitizer understands (see `Locked`). `@unchecked Sendable`: state is only touched with the
/// mutex held.
public final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private let capacity: Int
    private var queue: [Element] = []
    private var finished = false
    private var cancelled = false

    /// An empty channel holding at most `capacity` values (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        changed = .allocate(capacity: 1)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        changed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Queues `value`, waiting while the queue is full; false (and `value` dropped) once the
    /// receiver has cancelled.
    public func send(_ value: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !cancelled && queue.count >= capacity { pthread_cond_wait(changed, mutex) }
        guard !cancelled else { return false }
        queue.append(value)
        pthread_cond_broadcast(changed)
        return true
    }

    /// The next value, waiting for one; nil once the sender has finished and the queue is empty.
    public func receive() -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while queue.isEmpty && !finished { pthread_cond_wait(changed, mutex) }
        guard !queue.isEmpty else { return nil }
        // At most `capacity` values: removing the first is cheap.
        let value = queue.removeFirst()
        pthread_cond_broadcast(changed)
        return value
    }

    /// The sender is done: `receive` returns the values left, then nil.
    public func finish() {
        pthread_mutex_lock(mutex)
        finished = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// The receiver is done: every waiting and later `send` returns false, and what is queued
    /// is dropped.
    public func cancel() {
        pthread_mutex_lock(mutex)
        cancelled = true
        queue.removeAll()
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread running a closure; joined explicitly.
public final class WorkerThread: Sendable {
    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// The thread.
    public let id: pthread_t

    /// Starts a thread running `body`.
    public init(_ body: @escaping @Sendable () -> Void) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        id = thread
    }

    /// Waits for the thread to end.
    public func join() {
        pthread_join(id, nil)
    }
}

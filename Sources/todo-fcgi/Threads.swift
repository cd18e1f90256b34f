#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread running a closure; joined explicitly.
final class WorkerThread: Sendable {
    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    let id: pthread_t

    init(_ body: @escaping @Sendable () -> Void) {
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

    func join() {
        pthread_join(id, nil)
    }

    /// Sends `signal` to this thread (used to interrupt a blocking accept).
    func interrupt(with signal: Int32) {
        pthread_kill(id, signal)
    }
}

/// Signal plumbing: the process signals are blocked in every thread and taken
/// synchronously by the main thread with `sigwait`, so no work happens in a handler.
enum Signals {
    /// The signal used to wake a worker blocked in accept; its handler does nothing.
    static let wake = SIGUSR1

    /// Blocks TERM, INT, HUP and the wake signal; threads created afterwards inherit the mask.
    static func blockProcessSignals() {
        var set = processSignalSet()
        sigaddset(&set, wake)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A client that goes away must not kill the process; writes then fail with EPIPE.
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the blocked accept must return EINTR
        sigaction(wake, &action, nil)
    }

    /// In a worker thread: lets the wake signal interrupt this thread's system calls.
    static func unblockWakeInCurrentThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, wake)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Waits for TERM, INT or HUP and returns which arrived.
    static func waitForProcessSignal() -> Int32 {
        var set = processSignalSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }

    private static func processSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Signal plumbing: the process signals are blocked in every thread and taken
/// synchronously by the main thread with `sigwait`, so no work happens in a handler and no
/// system call of a worker is ever interrupted (a signal arriving while libfcgi reads a request
/// could otherwise cut it short).
public enum Signals {
    /// Blocks TERM, INT and HUP; threads created afterwards inherit the mask.
    public static func blockProcessSignals() {
        var set = processSignalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        // A client that goes away must not kill the process; writes then fail with EPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Waits for TERM, INT or HUP and returns which arrived.
    public static func waitForProcessSignal() -> Int32 {
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

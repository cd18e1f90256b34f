#if canImport(Glibc)
import Glibc
#endif

/// A clock that never jumps: queue waits and deadlines are measured on it.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    @Sendable public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

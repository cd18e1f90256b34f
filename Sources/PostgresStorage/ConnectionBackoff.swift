import Clocks

/// When a connection that failed to open may be tried again: at once after a success, then after
/// 50 ms, doubled at each failure up to 2 s, so an outage is answered at once instead of by
/// threads hanging in connection attempts.
struct ConnectionBackoff {
    /// The first wait after a failed attempt.
    static let minimum: UInt64 = 50_000_000
    /// The longest wait between attempts.
    static let maximum: UInt64 = 2_000_000_000

    private var retryAt: UInt64 = 0
    private var wait: UInt64 = 0

    /// Nanoseconds until an attempt is allowed; 0 when it is now.
    func remaining(now: UInt64 = MonotonicClock.nanoseconds()) -> UInt64 {
        now >= retryAt ? 0 : retryAt - now
    }

    /// An attempt succeeded: the next failure starts from the shortest wait.
    mutating func succeeded() {
        wait = 0
    }

    /// An attempt failed: the next one waits twice as long as the last (within the bounds).
    mutating func failed(now: UInt64 = MonotonicClock.nanoseconds()) {
        wait = min(max(wait * 2, Self.minimum), Self.maximum)
        retryAt = now + wait
    }
}

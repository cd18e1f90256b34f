import Clocks

/// A time zone's rules: the offset from UTC in effect at any instant. Conversions from local
/// wall-clock time go through `utcSeconds(local:)`.
public protocol ZoneOffsets: Sendable {
    /// Seconds east of UTC in effect at `utcSeconds` (seconds since the epoch).
    func offset(atUTC utcSeconds: Int64) -> Int64
}

extension ZoneOffsets {
    /// The instant of the wall-clock time `local` (seconds since the epoch as if it were UTC).
    /// As RFC 5545 §3.3.5 asks, a time that occurs twice (the hour a clock goes back) is its
    /// first occurrence, and a time that never occurs (the hour skipped) is read with the
    /// offset before the gap.
    public func utcSeconds(local: Int64) -> Int64 {
        let before = offset(atUTC: local - 86_400)
        let after = offset(atUTC: local + 86_400)
        // The two readings: each is right if the zone's offset at that instant agrees.
        let withBefore = local - before
        let withAfter = local - after
        let beforeHolds = offset(atUTC: withBefore) == before
        let afterHolds = offset(atUTC: withAfter) == after
        switch (beforeHolds, afterHolds) {
        case (true, true): return min(withBefore, withAfter)
        case (true, false): return withBefore
        case (false, true): return withAfter
        case (false, false): return local - before
        }
    }
}

/// A zone with one offset all the time (UTC, floating read as UTC, `Etc/GMT+5`).
public struct FixedZoneOffset: ZoneOffsets {
    /// Seconds east of UTC.
    public let seconds: Int64
    /// A zone `seconds` east of UTC.
    public init(seconds: Int64) { self.seconds = seconds }
    /// Always `seconds`.
    public func offset(atUTC utcSeconds: Int64) -> Int64 { seconds }
}

import ASCII
import Crypto

/// Whose changes a wake-up is about: the first 8 bytes of the SHA-256 of the user id. Never the
/// id itself (it crosses processes and, on PostgreSQL, the server's notification channel); two
/// users sharing a key only cost each other a spurious re-check.
public struct ChangeKey: Hashable, Sendable {
    /// The 64 bits, big-endian from the digest.
    public let value: UInt64

    /// The key of `userID`.
    public init(userID: String) {
        self.init(sha256: (try? SHA256.hash(userID.utf8)) ?? [])
    }

    /// The key of the user whose id has SHA-256 `digest` (for a caller that hashed it already).
    public init(sha256 digest: [UInt8]) {
        value = digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The key written as 16 lower-case hex digits (PostgreSQL's notification payload).
    public init?(hex: some Collection<UInt8>) {
        guard hex.count == 16 else { return nil }
        var value: UInt64 = 0
        for byte in hex {
            guard let digit = ASCIIHex.value(of: byte) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        self.value = value
    }

    /// The raw value.
    public init(value: UInt64) {
        self.value = value
    }

    /// The key as 16 lower-case hex digits (`init(hex:)` reads it back).
    public var hex: String {
        ASCIIHex.encode((0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
    }
}

/// How a process learns that a user's tasks changed, through whichever process or host changed
/// them (contract §13's live sync). A waiting request records its user's `marker` before it
/// reads the database and waits while the marker stays the same: a change committed after the
/// read moves the marker, so no change is missed, and a marker moved by someone else (keys share
/// buckets) only costs a re-check.
public protocol ChangeFeed: AnyObject, Sendable {
    /// A number that only grows, and grows whenever a change of `key`'s user is published.
    func marker(of key: ChangeKey) -> UInt64
    /// Announces a committed (and durable) change of `key`'s user to every process watching the
    /// database; a no-op where the database announces its own commits.
    func publish(_ key: ChangeKey)
    /// Blocks until some marker may have moved since `seen` (what the previous call returned; 0
    /// at first), or `timeoutNanoseconds` passed; returns the value to pass next time.
    func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64
    /// Readies the feed before any waiter reads a marker: a feed that hears changes over a
    /// connection makes it now, so that no waiter's marker predates it (and its first connection
    /// wakes no one). A feed that needs nothing returns at once.
    func startListening()
    /// Whether the feed still reaches the other processes; false once it stopped (its shared
    /// file shrunk or replaced under it). Cheap; the server checks it twice a second.
    func checkIntact() -> Bool
}

extension ChangeFeed {
    /// Nothing to ready: the feed hears every change from the start.
    public func startListening() {}

    /// Nothing shared that could break.
    public func checkIntact() -> Bool { true }
}

/// Markers in buckets: a key's marker is its bucket's counter plus a generation that moves every
/// bucket at once (after the feed may have missed changes). The layout every feed shares.
public enum ChangeBuckets {
    /// Buckets of markers: collisions between users waiting at once stay rare at 10,000 waiters.
    public static let count = 4096

    /// The bucket of `key`.
    @inlinable
    public static func index(of key: ChangeKey) -> Int {
        Int(truncatingIfNeeded: key.value % UInt64(count))
    }
}

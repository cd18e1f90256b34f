import JWT

/// Tokens this thread has already verified, so a client sending the same token again
/// costs one hash lookup instead of a MAC and two JSON parses (as PostgREST does).
///
/// Keyed by the exact token bytes, so a hit means "this very string passed every check";
/// only expiry can change its answer, and it is re-checked on every hit. Failures are never
/// cached. Bounded: when full, it starts over; capacity 0 disables it. Not Sendable: one per worker thread.
final class VerifiedTokenCache {
    private var entries: [ArraySlice<UInt8>: VerifiedToken] = [:]
    private let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The cached result for `token` if it is still unexpired at `now` (with `leeway`).
    func lookup(_ token: ArraySlice<UInt8>, now: Double, leeway: Double) -> VerifiedToken? {
        guard let verified = entries[token] else { return nil }
        guard now <= verified.expiresAt + leeway else {
            entries[token] = nil
            return nil
        }
        return verified
    }

    /// Remembers a token that passed verification.
    func insert(_ token: ArraySlice<UInt8>, _ verified: VerifiedToken) {
        guard capacity > 0 else { return }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[ArraySlice(Array(token))] = verified
    }

    /// The number of tokens remembered.
    var count: Int { entries.count }
}

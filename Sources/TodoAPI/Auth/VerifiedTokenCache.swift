import JWT
import TaskModel

/// Tokens this thread has already verified, so a client sending the same token again
/// costs one hash lookup instead of a MAC and two JSON parses (as PostgREST does).
///
/// Keyed by the exact token bytes, so a hit means "this very string passed every check";
/// only expiry can change its answer, and it is re-checked on every hit. Failures are never
/// cached. Bounded: when full, it starts over; capacity 0 disables it. Not Sendable: one per worker thread.
final class VerifiedTokenCache {
    private var entries: [TokenKey: (user: AuthenticatedUser, expiresAt: Double)] = [:]
    private let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The cached result for `token` if it is still unexpired at `now` (with `leeway`).
    func lookup(_ token: ArraySlice<UInt8>, now: Double, leeway: Double) -> AuthenticatedUser? {
        let key = TokenKey(bytes: token)
        guard let entry = entries[key] else { return nil }
        guard now <= entry.expiresAt + leeway else {
            entries[key] = nil
            return nil
        }
        return entry.user
    }

    /// Remembers the user of a token that passed verification and expires at `expiresAt`.
    func insert(_ token: ArraySlice<UInt8>, _ user: AuthenticatedUser, expiresAt: Double) {
        guard capacity > 0 else { return }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[TokenKey(bytes: ArraySlice(Array(token)))] = (user, expiresAt)
    }
}

/// Token bytes as a dictionary key, hashed in one pass (an `ArraySlice` would feed the hasher byte by byte).
private struct TokenKey: Hashable {
    let bytes: ArraySlice<UInt8>

    static func == (left: TokenKey, right: TokenKey) -> Bool {
        left.bytes.elementsEqual(right.bytes)
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

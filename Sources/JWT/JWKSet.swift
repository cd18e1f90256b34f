import JSON
import Synchronization

/// The keys of a JWKS document (RFC 7517 §5), by key id.
public struct JWKSet: Sendable {
    /// Usable keys by `kid`.
    public let keys: [String: PublicKey]
    /// Keys that were skipped, with the reason (reported by `todo-fcgi check`).
    public let skipped: [String]

    /// An empty set.
    public init() {
        keys = [:]
        skipped = []
    }

    /// Parses `{"keys":[...]}`. Unusable keys are skipped, not fatal: one odd key must not
    /// take the others down. A document that is not a JWKS at all is an error.
    public init(json: [UInt8]) throws(KeyError) {
        let document: JSONValue
        do {
            document = try JSONParser(maximumDepth: 8).parse(json)
        } catch {
            throw KeyError("JWKS is not valid JSON: \(error.description)")
        }
        guard case .array(let entries)? = document.objectValue?["keys"] else {
            throw KeyError("JWKS has no \"keys\" array")
        }
        var keys: [String: PublicKey] = [:]
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let jwk = entry.objectValue else {
                skipped.append("key \(index): not an object")
                continue
            }
            guard case .string(let kid)? = jwk["kid"], !kid.isEmpty else {
                skipped.append("key \(index): no kid")
                continue
            }
            do {
                let key = try PublicKey(jwk: jwk)
                if keys.updateValue(key, forKey: kid) != nil {
                    skipped.append("key \(kid): duplicate kid, the last one is used")
                }
            } catch {
                skipped.append("key \(kid): \(error.description)")
            }
        }
        self.keys = keys
        self.skipped = skipped
    }
}

/// Supplies verification keys by key id; the verifier asks it for every asymmetric token.
public protocol KeyProvider: Sendable {
    /// The key for `keyID`, or nil when it is (still) unknown.
    func key(for keyID: String) -> PublicKey?
}

/// The process's JWKS: cached in memory, refreshed from its source when a token names an
/// unknown key id, at most once per `refreshInterval` across all threads. A failing source
/// never takes the known keys away: the last good set stays.
public final class JWKSKeyStore: KeyProvider {
    private struct State {
        var set = JWKSet()
        var lastAttempt = -Double.infinity
        var refreshing = false
    }

    private let state = Mutex(State())
    private let source: @Sendable () throws -> [UInt8]
    private let clock: @Sendable () -> Double
    /// Where the keys come from, for messages.
    public let sourceDescription: String
    /// The least time between two refreshes triggered by unknown key ids, in seconds.
    public let refreshInterval: Double

    /// A store reading its JWKS document from `source`; call `reload()` to load it.
    public init(sourceDescription: String, refreshInterval: Double = 30,
                clock: @escaping @Sendable () -> Double, source: @escaping @Sendable () throws -> [UInt8]) {
        self.sourceDescription = sourceDescription
        self.refreshInterval = refreshInterval
        self.clock = clock
        self.source = source
    }

    /// Loads the source now. On failure the previous keys stay and the error is thrown.
    @discardableResult
    public func reload() throws -> JWKSet {
        let set = try JWKSet(json: try source())
        state.withLock { $0.set = set }
        return set
    }

    /// Installs `set` as the current keys (used to carry the last good keys over to a store that
    /// replaces this one on SIGHUP while the source is unreachable).
    public func install(_ set: JWKSet) {
        state.withLock { $0.set = set }
    }

    /// The keys currently loaded.
    public var current: JWKSet { state.withLock { $0.set } }

    public func key(for keyID: String) -> PublicKey? {
        let now = clock()
        let (known, mayRefresh) = state.withLock { state -> (PublicKey?, Bool) in
            if let key = state.set.keys[keyID] { return (key, false) }
            guard !state.refreshing, now - state.lastAttempt >= refreshInterval else { return (nil, false) }
            state.refreshing = true
            state.lastAttempt = now
            return (nil, true)
        }
        if let known { return known }
        guard mayRefresh else { return nil }
        // Only this thread fetches; the others answer 401 for unknown ids meanwhile and are
        // never held up, and known keys keep working whatever the source does.
        defer { state.withLock { $0.refreshing = false } }
        _ = try? reload()
        return state.withLock { $0.set.keys[keyID] }
    }
}

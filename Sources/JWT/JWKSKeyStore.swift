import Locks

/// A JWKS document as its source delivered it.
public struct JWKSDocument: Sendable {
    /// The document's bytes.
    public let bytes: [UInt8]
    /// How long the source says it stays fresh (`Cache-Control: max-age`), nil when unspecified.
    public let maximumAgeSeconds: Int?

    /// A document of `bytes`, fresh for `maximumAgeSeconds` when the source said so.
    public init(bytes: [UInt8], maximumAgeSeconds: Int? = nil) {
        self.bytes = bytes
        self.maximumAgeSeconds = maximumAgeSeconds
    }
}

/// The process's JWKS, cached in memory.
///
/// The set is refetched when it is older than `maximumAge` (or the shorter `max-age` its source
/// gave) by `refreshIfDue()`, which a background thread calls, so a key removed at the source
/// stops verifying new tokens within that age; and when a token names an unknown key id (or has
/// no `kid` and no key fits its `alg`), so a rotation is picked up at once. Fetches are at most
/// one at a time and at most once per `refreshInterval` after a failure or an unknown key id.
/// A failing source never takes the known keys away: the last good set stays, and failures
/// are reported through `log`, the first one at once and then at most once a minute.
public final class JWKSKeyStore: KeyProvider {
    private struct State {
        var set = JWKSet()
        var document: [UInt8]?
        /// When `refreshIfDue` fetches next: the set's age limit after a success,
        /// `refreshInterval` later after a failure.
        var staleAt = -Double.infinity
        /// The last fetch for a key the set lacked (the rate limit on what tokens can trigger).
        var lastOnDemandFetch = -Double.infinity
        var refreshing = false
        var consecutiveFailures = 0
        var lastSuccess: Double?
        var lastFailureReport = -Double.infinity
    }

    private let state = Locked(State())
    private let source: @Sendable () throws -> JWKSDocument
    private let clock: @Sendable () -> Double
    private let log: @Sendable (_ isFailure: Bool, _ message: String) -> Void
    /// Where the keys come from, for messages.
    public let sourceDescription: String
    /// The least time between two fetches after a failure or for an unknown key id, in seconds.
    public let refreshInterval: Double
    /// The longest a fetched set is used before it is refetched, in seconds.
    public let maximumAge: Double
    /// The least time between two reports of a source that keeps failing, in seconds.
    public static let failureReportInterval: Double = 60

    /// A store reading its JWKS document from `source`; call `reload()` to load it. `log` receives
    /// failures (`isFailure`), recoveries and changes of the set.
    public init(sourceDescription: String, refreshInterval: Double = 30, maximumAge: Double = 300,
                clock: @escaping @Sendable () -> Double, log: @escaping @Sendable (_ isFailure: Bool, _ message: String) -> Void = { _, _ in },
                source: @escaping @Sendable () throws -> JWKSDocument) {
        self.sourceDescription = sourceDescription
        self.refreshInterval = refreshInterval
        self.maximumAge = maximumAge
        self.clock = clock
        self.log = log
        self.source = source
    }

    /// Loads the source now. On failure the previous keys stay and the error is thrown.
    @discardableResult
    public func reload() throws -> JWKSet {
        let now = clock()
        do {
            let document = try source()
            let set = try JWKSet(json: document.bytes)
            let freshFor = max(1, min(maximumAge, document.maximumAgeSeconds.map(Double.init) ?? maximumAge))
            let (changed, failures) = state.withLock { state -> (Bool, Int) in
                let changed = state.document.map { $0 != document.bytes } ?? false
                let failures = state.consecutiveFailures
                state.set = set
                state.document = document.bytes
                state.staleAt = now + freshFor
                state.consecutiveFailures = 0
                state.lastFailureReport = -Double.infinity
                state.lastSuccess = now
                return (changed, failures)
            }
            if failures > 0 {
                log(false, "JWKS from \(sourceDescription) loaded again after \(failures) failed attempts: \(set.description)")
            } else if changed {
                log(false, "JWKS from \(sourceDescription) changed: \(set.description)")
            }
            return set
        } catch {
            let (failures, report, kept) = state.withLock { state -> (Int, Bool, Int) in
                state.consecutiveFailures += 1
                state.staleAt = max(state.staleAt, now + refreshInterval)
                let report = now - state.lastFailureReport >= Self.failureReportInterval
                if report { state.lastFailureReport = now }
                return (state.consecutiveFailures, report, state.set.allKeys.count)
            }
            if report {
                log(true, "JWKS from \(sourceDescription) could not be fetched (\(failures) failed attempts in a row; "
                    + "keeping the \(kept) keys loaded before): \(error)")
            }
            throw error
        }
    }

    /// Refetches the set when it is stale (or, after a failure, when `refreshInterval` has passed).
    /// Returns true when it fetched.
    @discardableResult
    public func refreshIfDue() -> Bool {
        let now = clock()
        let due = state.withLock { state -> Bool in
            guard !state.refreshing, now >= state.staleAt else { return false }
            state.refreshing = true
            return true
        }
        guard due else { return false }
        defer { state.withLock { $0.refreshing = false } }
        _ = try? reload()
        return true
    }

    /// Installs `set` as the current keys (used to carry the last good keys over to a store that
    /// replaces this one on SIGHUP while the source is unreachable). It is refetched when due.
    public func install(_ set: JWKSet) {
        state.withLock { $0.set = set }
    }

    /// The keys currently loaded.
    public var current: JWKSet { state.withLock { $0.set } }

    /// When the source last answered with a usable set (the store's clock), nil before that.
    public var lastSuccess: Double? { state.withLock { $0.lastSuccess } }

    /// How many fetches in a row have failed (0 after a success).
    public var consecutiveFailures: Int { state.withLock { $0.consecutiveFailures } }

    public func key(for keyID: String) -> PublicKey? {
        lookup { $0.keys[keyID] }
    }

    public func keys(accepting algorithm: SignatureAlgorithm) -> [PublicKey] {
        lookup { set in
            let fitting = set.keys(accepting: algorithm)
            return fitting.isEmpty ? nil : fitting
        } ?? []
    }

    /// `find` in the current set; when it finds nothing, one refetch (rate-limited across
    /// threads) and `find` again.
    private func lookup<Found>(_ find: (JWKSet) -> Found?) -> Found? {
        let now = clock()
        let (known, mayRefresh) = state.withLock { state -> (Found?, Bool) in
            if let found = find(state.set) { return (found, false) }
            guard !state.refreshing, now - state.lastOnDemandFetch >= refreshInterval else { return (nil, false) }
            state.refreshing = true
            state.lastOnDemandFetch = now
            return (nil, true)
        }
        if let known { return known }
        guard mayRefresh else { return nil }
        // Only this thread fetches; the others answer 401 for unknown ids meanwhile and are
        // never held up, and known keys keep working whatever the source does.
        defer { state.withLock { $0.refreshing = false } }
        _ = try? reload()
        return find(state.withLock { $0.set })
    }
}

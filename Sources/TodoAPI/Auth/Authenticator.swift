import APITables
import Clocks
import Crypto
import JWT
import TaskModel

/// The identity a verified token grants: nothing else about the caller is trusted.
public struct AuthenticatedUser: Sendable, Equatable {
    /// The user id, from the token's `sub`.
    public let id: String
    /// What the access log says instead of the id: the first 12 hex digits of its SHA-256, made
    /// once per verified token (it is cached with it), not per request.
    public let logID: String
    /// Whose changes wake this user's waiting sync requests (contract §13); made with `logID`.
    public let changeKey: ChangeKey

    /// The user `id`.
    public init(id: String) {
        self.id = id
        // One digest for both.
        let digest = (try? SHA256.hash(id.utf8)) ?? []
        logID = SHA256.hexPrefix(ofDigest: digest)
        changeKey = ChangeKey(sha256: digest)
    }
}

/// The one place where requests are authenticated.
///
/// Not Sendable: it owns a `JWTVerifier`, whose MAC context is per thread.
public final class Authenticator {
    private let verifier: JWTVerifier
    private let clock: @Sendable () -> Double
    private let cache: VerifiedTokenCache

    /// Creates an authenticator for `configuration`; `clock` returns seconds since the epoch.
    /// `cacheCapacity` bounds the per-thread cache of verified tokens (0 disables it).
    public init(configuration: JWTConfiguration, clock: @escaping @Sendable () -> Double = WallClock.seconds,
                cacheCapacity: Int = 1024) throws(CryptoError) {
        self.verifier = try JWTVerifier(configuration: configuration)
        self.clock = clock
        self.cache = VerifiedTokenCache(capacity: cacheCapacity)
    }

    /// Authenticates from the raw `Authorization` header value.
    public func authenticate(authorization: [UInt8]?) throws(APIError) -> AuthenticatedUser {
        guard let authorization, let token = Self.bearerToken(authorization) else {
            throw APIError.missingToken
        }
        let now = clock()
        if let cached = cache.lookup(token, now: now, leeway: verifier.configuration.leewaySeconds) {
            return cached
        }
        do {
            let verified = try verifier.verify(token, nowSeconds: now)
            let user = AuthenticatedUser(id: verified.subject)
            cache.insert(token, user, expiresAt: verified.expiresAt)
            return user
        } catch {
            if error.kind == .internalFailure { throw APIError.internalError }
            throw APIError.invalidToken(error.reason, label: Self.label(error.kind))
        }
    }

    /// The reason metrics give a rejection.
    static func label(_ kind: JWTError.Kind) -> AuthFailureReason {
        switch kind {
        case .malformed: return .malformed
        case .unsupportedAlgorithm: return .unsupportedAlgorithm
        case .badSignature: return .badSignature
        case .unknownKey: return .unknownKeyID
        case .expired: return .expired
        case .notYetValid: return .notYetValid
        case .invalidClaim: return .invalidClaim
        case .issuerMismatch: return .issuerMismatch
        case .audienceMismatch: return .audienceMismatch
        case .internalFailure: return .other
        }
    }

    /// The credentials of a `Bearer` authorization (scheme case-insensitive), or nil for any other scheme.
    static func bearerToken(_ header: [UInt8]) -> ArraySlice<UInt8>? {
        let scheme = "bearer".utf8
        guard header.count > scheme.count,
              zip(header.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 }),
              header[scheme.count] == UInt8(ascii: " ") else {
            return nil
        }
        var token = header[(scheme.count + 1)...]
        while token.first == UInt8(ascii: " ") { token = token.dropFirst() }
        while token.last == UInt8(ascii: " ") { token = token.dropLast() }
        return token.isEmpty ? nil : token
    }
}

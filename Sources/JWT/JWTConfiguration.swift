

/// What a token must satisfy: the key, the clock leeway and the expected issuer and audience.
public struct JWTConfiguration: Sendable {
    /// The smallest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size).
    public static let minimumSecretLength = 32
    /// Tokens longer than this are rejected before any decoding.
    public static let maximumTokenLength = 8192

    /// The HS256 shared secret (`BETTER_AUTH_SECRET`), when HS256 tokens are accepted.
    public var secret: [UInt8]?
    /// The asymmetric keys (a JWKS), when EdDSA, ES256, ES512, RS256 or PS256 tokens are accepted.
    public var keys: (any KeyProvider)?
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds.
    public var leewaySeconds: Double
    /// When set, `iss` must equal it.
    public var issuer: String?
    /// When set, `aud` (a string or an array of strings) must contain it.
    public var audience: String?

    /// Creates a configuration; fails when the secret is shorter than `minimumSecretLength`,
    /// or when there is neither a secret nor keys.
    public init(secret: [UInt8]?, keys: (any KeyProvider)? = nil, leewaySeconds: Double = 30,
                issuer: String? = nil, audience: String? = nil) throws(JWTError) {
        if let secret, secret.count < Self.minimumSecretLength {
            throw JWTError(.invalidClaim, "the secret must be at least \(Self.minimumSecretLength) bytes long (it is \(secret.count))")
        }
        guard secret != nil || keys != nil else {
            throw JWTError(.invalidClaim, "neither a secret nor a JWKS is configured")
        }
        self.secret = secret
        self.keys = keys
        self.leewaySeconds = leewaySeconds
        self.issuer = issuer
        self.audience = audience
    }
}

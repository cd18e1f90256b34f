/// The JWS algorithms this service verifies (RFC 7518, RFC 8037, RFC 9864).
public enum SignatureAlgorithm: String, Sendable, CaseIterable {
    case hs256 = "HS256"
    case eddsa = "EdDSA"
    case es256 = "ES256"
    case es512 = "ES512"
    case rs256 = "RS256"
    case ps256 = "PS256"

    /// The algorithm a header `alg` names, or nil for anything else (`none` included).
    /// `Ed25519` is RFC 9864's fully specified name for EdDSA over Ed25519.
    public init?(headerValue: String) {
        if headerValue == "Ed25519" {
            self = .eddsa
            return
        }
        self.init(rawValue: headerValue)
    }
}

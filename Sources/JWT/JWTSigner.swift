import Crypto
import JSON

/// Mints HS256 tokens, for `todo-fcgi token` and for tests.
public struct JWTSigner {
    private let secret: [UInt8]

    /// Creates a signer with the shared `secret`.
    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// Signs a payload given as JSON object text, with the header `{"alg":"HS256","typ":"JWT"}`.
    public func sign(payloadJSON: [UInt8], headerJSON: [UInt8] = Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) throws(CryptoError) -> String {
        let signingInput = Base64URL.encode(headerJSON) + "." + Base64URL.encode(payloadJSON)
        let mac = try HMACSHA256(key: secret)
        let signature = try mac.authenticationCode(for: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs the standard claims for `subject`, valid from `issuedAt` for `lifetime` seconds.
    public func sign(subject: String, issuedAt: Int64, lifetime: Int64,
                     issuer: String? = nil, audience: String? = nil) throws(CryptoError) -> String {
        try sign(payloadJSON: TokenClaims.json(subject: subject, issuedAt: issuedAt, lifetime: lifetime,
                                               issuer: issuer, audience: audience))
    }
}

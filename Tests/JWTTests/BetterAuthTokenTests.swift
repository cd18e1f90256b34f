import Crypto
import JSON
import HTTPFetch
import JWT
import Synchronization
import Testing

/// Tokens shaped like Better Auth's JWT plugin makes them, and every way they can be wrong.
@Suite("Better Auth tokens through the JWKS")
struct BetterAuthTokenTests {
    static let baseURL = "http://localhost:3000"
    let now: Double = 1_800_000_000
    let signingKey: Ed25519SigningKey
    let keyID = "ba-key-1"
    let store: JWKSKeyStore

    init() throws {
        signingKey = try Ed25519SigningKey()
        let x = Base64URL.encode(try signingKey.publicKeyBytes())
        let es256 = #"{"kty":"EC","crv":"P-256","kid":"es-key","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        let jwks = Array(#"{"keys":[{"alg":"EdDSA","crv":"Ed25519","x":"\#(x)","kty":"OKP","kid":"ba-key-1"},\#(es256)]}"#.utf8)
        store = JWKSKeyStore(sourceDescription: "test", clock: { 0 }, source: { JWKSDocument(bytes: jwks) })
        try store.reload()
    }

    func payload(exp: Double? = nil, iss: String = baseURL, aud: String = baseURL) -> [UInt8] {
        Array(#"{"id":"user-1","name":"Ada","email":"ada@example.com","emailVerified":true,"image":null,"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","iat":\#(Int(now)),"exp":\#(Int(exp ?? now + 900)),"sub":"user-1","iss":"\#(iss)","aud":"\#(aud)"}"#.utf8)
    }

    func verifier(secret: [UInt8]? = nil) throws -> JWTVerifier {
        try JWTVerifier(configuration: JWTConfiguration(secret: secret, keys: store, issuer: Self.baseURL, audience: Self.baseURL))
    }

    func rejection(_ token: String, secret: [UInt8]? = nil) throws -> JWTError? {
        let verifier = try verifier(secret: secret)
        do {
            _ = try verifier.verify(Array(token.utf8), nowSeconds: now)
            return nil
        } catch {
            return error
        }
    }

    func forge(header: String, payload: [UInt8], signature: [UInt8]) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload) + "." + Base64URL.encode(signature)
    }

    @Test func acceptsABetterAuthToken() throws {
        let token = try signingKey.signToken(payloadJSON: payload(), keyID: keyID)
        #expect(try verifier().verify(Array(token.utf8), nowSeconds: now) == VerifiedToken(subject: "user-1", expiresAt: now + 900))
    }

    @Test func acceptsTheFullySpecifiedAlgorithmName() throws {
        let input = Base64URL.encode(Array(#"{"alg":"Ed25519","kid":"ba-key-1"}"#.utf8)) + "." + Base64URL.encode(payload())
        let token = input + "." + Base64URL.encode(try signingKey.sign(Array(input.utf8)))
        #expect(try rejection(token) == nil)
    }

    @Test func rejectsAnUnknownKeyID() throws {
        let token = try signingKey.signToken(payloadJSON: payload(), keyID: "someone-elses")
        #expect(try rejection(token) == JWTError(.unknownKey, "unknown key id"))
    }

    @Test func acceptsATokenWithoutKeyIDSignedByAKeyOfItsType() throws {
        // Better Auth with generateId: false signs without kid; the EdDSA keys are tried, the EC one is not.
        let input = Base64URL.encode(Array(#"{"alg":"EdDSA"}"#.utf8)) + "." + Base64URL.encode(payload())
        let token = input + "." + Base64URL.encode(try signingKey.sign(Array(input.utf8)))
        #expect(try rejection(token) == nil)
    }

    @Test func rejectsATokenWithoutKeyIDThatNoKeyVerifies() throws {
        let stranger = try Ed25519SigningKey()
        let input = Base64URL.encode(Array(#"{"alg":"EdDSA"}"#.utf8)) + "." + Base64URL.encode(payload())
        let token = input + "." + Base64URL.encode(try stranger.sign(Array(input.utf8)))
        #expect(try rejection(token) == JWTError(.badSignature, "token signature does not match"))
        // No key in the set fits ES512 at all.
        let es512 = forge(header: #"{"alg":"ES512"}"#, payload: payload(), signature: [UInt8](repeating: 1, count: 132))
        #expect(try rejection(es512) == JWTError(.unknownKey, "no key for ES512 tokens without a key id"))
    }

    @Test func rejectsAKeyIDThatIsNotANonEmptyString() throws {
        for kid in ["7", "\"\"", "null", "[\"ba-key-1\"]"] {
            let input = Base64URL.encode(Array(#"{"alg":"EdDSA","kid":\#(kid)}"#.utf8)) + "." + Base64URL.encode(payload())
            let token = input + "." + Base64URL.encode(try signingKey.sign(Array(input.utf8)))
            #expect(try rejection(token) == JWTError(.malformed, "token header kid is not a non-empty string"), "kid \(kid)")
        }
    }

    @Test func rejectsHS256SignedWithThePublicKeyBytes() throws {
        let publicBytes = try signingKey.publicKeyBytes()
        let header = #"{"alg":"HS256","kid":"ba-key-1"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload())
        let mac = try HMACSHA256(key: publicBytes).authenticationCode(for: Array(input.utf8))
        let token = input + "." + Base64URL.encode(mac)
        #expect(try rejection(token) == JWTError(.unsupportedAlgorithm, "token signed with HS256 but no shared secret is configured"))
        // With a secret configured too, HS256 is checked against the secret, never the key.
        #expect(try rejection(token, secret: Array("a-real-shared-secret-of-32-bytes!!".utf8))?.kind == .badSignature)
    }

    @Test func rejectsAlgNone() throws {
        let token = forge(header: #"{"alg":"none","kid":"ba-key-1"}"#, payload: payload(), signature: [])
        #expect(try rejection(token)?.kind == .unsupportedAlgorithm)
    }

    @Test func rejectsADERSignature() throws {
        // The RFC 7515 A.3 ES256 signature re-encoded as DER, as a careless signer would send it.
        let raw = Base64URL.decode(Array("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q".utf8))!
        let der: [UInt8] = [0x30, 0x44, 0x02, 0x20] + raw[0..<32] + [0x02, 0x20] + raw[32...]
        let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVzLWtleSJ9.\(PublishedVectorTests.rfc7515Payload)." + Base64URL.encode(der)
        #expect(try rejection(token) == JWTError(.badSignature, "token signature does not match"))
    }

    @Test func rejectsATruncatedSignature() throws {
        let token = try signingKey.signToken(payloadJSON: payload(), keyID: keyID)
        let parts = token.split(separator: ".")
        let signature = Base64URL.decode(Array(parts[2].utf8))!
        let truncated = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature.dropLast(1))
        #expect(try rejection(String(truncated)) == JWTError(.badSignature, "token signature does not match"))
    }

    @Test func rejectsAKeyOfTheWrongType() throws {
        // An EdDSA signature presented as ES256 under the EC key, and as EdDSA under the EC key.
        let input = Base64URL.encode(Array(#"{"alg":"EdDSA","kid":"es-key"}"#.utf8)) + "." + Base64URL.encode(payload())
        let token = input + "." + Base64URL.encode(try signingKey.sign(Array(input.utf8)))
        #expect(try rejection(token) == JWTError(.unsupportedAlgorithm, "token algorithm EdDSA does not match its key (EC P-256)"))
        let swapped = forge(header: #"{"alg":"ES256","kid":"ba-key-1"}"#, payload: payload(), signature: [UInt8](repeating: 1, count: 64))
        #expect(try rejection(swapped) == JWTError(.unsupportedAlgorithm, "token algorithm ES256 does not match its key (Ed25519)"))
    }

    @Test func rejectsExpiredWrongIssuerAndWrongAudience() throws {
        let expired = try signingKey.signToken(payloadJSON: payload(exp: now - 100), keyID: keyID)
        #expect(try rejection(expired) == JWTError(.expired, "token expired"))
        let issuer = try signingKey.signToken(payloadJSON: payload(iss: "http://evil.example"), keyID: keyID)
        #expect(try rejection(issuer) == JWTError(.issuerMismatch, "issuer mismatch"))
        let audience = try signingKey.signToken(payloadJSON: payload(aud: "http://evil.example"), keyID: keyID)
        #expect(try rejection(audience) == JWTError(.audienceMismatch, "audience mismatch"))
    }

    @Test func rejectsAsymmetricTokensWithoutAJWKS() throws {
        let token = try signingKey.signToken(payloadJSON: payload(), keyID: keyID)
        let hsOnly = try JWTVerifier(configuration: JWTConfiguration(secret: Array("a-real-shared-secret-of-32-bytes!!".utf8)))
        #expect(throws: JWTError(.unsupportedAlgorithm, "token signed with EdDSA but no JWKS is configured")) {
            try hsOnly.verify(Array(token.utf8), nowSeconds: now)
        }
    }
}

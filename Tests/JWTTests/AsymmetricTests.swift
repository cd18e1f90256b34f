import JSON
import HTTPFetch
import JWT
import Synchronization
import Testing

/// Published vectors, each checked here and with one bit flipped.
@Suite("Asymmetric signatures: published vectors")
struct PublishedVectorTests {
    static let rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

    func key(_ json: String) throws -> PublicKey {
        try PublicKey(jwk: JSONParser().parse(Array(json.utf8)).objectValue!)
    }

    func check(_ key: PublicKey, token: String, algorithm: SignatureAlgorithm) {
        let parts = token.split(separator: ".")
        let signingInput = Array((parts[0] + "." + parts[1]).utf8)
        var signature = Base64URL.decode(Array(parts[2].utf8))!
        #expect(signingInput.withUnsafeBytes { key.verify(signature: signature, message: $0, algorithm: algorithm) })
        signature[signature.count / 2] ^= 0x01
        #expect(!signingInput.withUnsafeBytes { key.verify(signature: signature, message: $0, algorithm: algorithm) })
        var message = signingInput
        message[message.count - 1] ^= 0x01
        signature[signature.count / 2] ^= 0x01
        #expect(!message.withUnsafeBytes { key.verify(signature: signature, message: $0, algorithm: algorithm) })
    }

    @Test func rfc8037AppendixA4Ed25519() throws {
        let ed = try key(#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
        check(ed, token: "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
              algorithm: .eddsa)
    }

    @Test func rfc8037AppendixA1KeyDerivesItsPublicKey() throws {
        let seed = Base64URL.decode(Array("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".utf8))!
        #expect(Base64URL.encode(try Ed25519SigningKey(seed: seed).publicKeyBytes()) == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        // RFC 8037 A.4's signature is deterministic: signing again reproduces it.
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        #expect(Base64URL.encode(try Ed25519SigningKey(seed: seed).sign(input))
            == "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
    }

    @Test func rfc7515AppendixA3ES256() throws {
        let es = try key(#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#)
        check(es, token: "eyJhbGciOiJFUzI1NiJ9.\(Self.rfc7515Payload).DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
              algorithm: .es256)
    }

    static let rsaModulus = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"

    @Test func rfc7515AppendixA2RS256() throws {
        let rsa = try key(#"{"kty":"RSA","n":"\#(Self.rsaModulus)","e":"AQAB"}"#)
        #expect(rsa.kind == .rsa(bits: 2048))
        check(rsa, token: "eyJhbGciOiJSUzI1NiJ9.\(Self.rfc7515Payload).cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
              algorithm: .rs256)
        // The same PKCS#1 v1.5 signature is no PS256 signature.
        let parts = "eyJhbGciOiJSUzI1NiJ9.\(Self.rfc7515Payload)"
        let signature = Base64URL.decode(Array("cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw".utf8))!
        #expect(!Array(parts.utf8).withUnsafeBytes { rsa.verify(signature: signature, message: $0, algorithm: .ps256) })
    }

    @Test func rejectsWrongKeysAndSizes() throws {
        // An RSA modulus of 1024 bits (the RFC key cut in half).
        let short = String(Self.rsaModulus.prefix(171))
        #expect(throws: KeyError.self) { try key(#"{"kty":"RSA","n":"\#(short)","e":"AQAB"}"#) }
        // A point that is not on the curve.
        #expect(throws: KeyError.self) {
            try key(#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"}"#)
        }
        #expect(throws: KeyError.self) { try key(#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"OKP","crv":"Ed25519","alg":"HS256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#) }
        #expect(throws: KeyError.self) { try key(#"{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#) }
    }

    @Test func keysAcceptOnlyTheirAlgorithms() throws {
        let ed = try key(#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
        #expect(SignatureAlgorithm.allCases.filter { ed.accepts($0) } == [.eddsa])
        let rsa = try key(#"{"kty":"RSA","n":"\#(Self.rsaModulus)","e":"AQAB"}"#)
        #expect(SignatureAlgorithm.allCases.filter { rsa.accepts($0) } == [.rs256, .ps256])
        let pinned = try key(#"{"kty":"RSA","alg":"PS256","n":"\#(Self.rsaModulus)","e":"AQAB"}"#)
        #expect(SignatureAlgorithm.allCases.filter { pinned.accepts($0) } == [.ps256])
        #expect(SignatureAlgorithm(headerValue: "Ed25519") == .eddsa)
        #expect(SignatureAlgorithm(headerValue: "none") == nil)
    }
}

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
            _ = try verifier.verify(Array(token.utf8), now: now)
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
        #expect(try verifier().verify(Array(token.utf8), now: now) == VerifiedToken(subject: "user-1", expiresAt: now + 900))
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
            try hsOnly.verify(Array(token.utf8), now: now)
        }
    }
}

@Suite("JWKS key store")
struct JWKSKeyStoreTests {
    final class Source: @unchecked Sendable {
        let lock = Mutex(0)
        var document: [UInt8] = Array(#"{"keys":[]}"#.utf8)
        var maximumAge: Int?
        var failing = false
        var fetches: Int { lock.withLock { $0 } }
        func fetch() throws -> JWKSDocument {
            lock.withLock { $0 += 1 }
            if failing { throw KeyError("endpoint down") }
            return JWKSDocument(bytes: document, maximumAgeSeconds: maximumAge)
        }
    }

    final class Clock: @unchecked Sendable {
        var now: Double = 1000
    }

    static func jwks(_ keys: [(String, Ed25519SigningKey)]) throws -> [UInt8] {
        let entries = try keys.map { kid, key in
            #"{"kty":"OKP","crv":"Ed25519","kid":"\#(kid)","x":"\#(Base64URL.encode(try key.publicKeyBytes()))"}"#
        }
        return Array(#"{"keys":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    @Test func refetchesUnknownKeysAtMostOncePerInterval() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        let old = try Ed25519SigningKey()
        source.document = try Self.jwks([("old", old)])
        try store.reload()
        #expect(store.key(for: "old") != nil)
        #expect(source.fetches == 1)

        // Rotation: the new key appears at the source; the first unknown kid triggers a refetch.
        let new = try Ed25519SigningKey()
        source.document = try Self.jwks([("old", old), ("new", new)])
        #expect(store.key(for: "new") != nil)
        #expect(source.fetches == 2)
        // Unknown ids within the interval do not fetch again.
        #expect(store.key(for: "bogus-1") == nil)
        #expect(store.key(for: "bogus-2") == nil)
        #expect(source.fetches == 2)
        clock.now += 31
        #expect(store.key(for: "bogus-3") == nil)
        #expect(source.fetches == 3)
    }

    @Test func aFailingSourceKeepsTheKnownKeys() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        source.document = try Self.jwks([("kept", try Ed25519SigningKey())])
        try store.reload()
        source.failing = true
        #expect(throws: (any Error).self) { try store.reload() }
        clock.now += 60
        #expect(store.key(for: "unknown") == nil)
        #expect(store.key(for: "kept") != nil)
    }

    @Test func skipsUnusableKeysButKeepsTheRest() throws {
        let good = try Ed25519SigningKey()
        let document = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"good","x":"\#(Base64URL.encode(try good.publicKeyBytes()))"},{"kty":"RSA","kid":"tiny","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"AAAA"},7]}"#
        let set = try JWKSet(json: Array(document.utf8))
        #expect(Array(set.keys.keys) == ["good"])
        #expect(set.allKeys.count == 1)
        #expect(set.skipped.count == 3)
        #expect(throws: KeyError.self) { try JWKSet(json: Array(#"{"nokeys":[]}"#.utf8)) }
        #expect(throws: KeyError.self) { try JWKSet(json: Array("not json".utf8)) }
    }

    @Test func keysWithoutKeyIDAreUsableAndNamelessTokensTryThem() throws {
        let named = try Ed25519SigningKey()
        let nameless = try Ed25519SigningKey()
        let document = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"named","x":"\#(Base64URL.encode(try named.publicKeyBytes()))"},{"kty":"OKP","crv":"Ed25519","x":"\#(Base64URL.encode(try nameless.publicKeyBytes()))"},{"kty":"OKP","crv":"Ed25519","kid":7,"x":"\#(Base64URL.encode(try nameless.publicKeyBytes()))"}]}"#
        let set = try JWKSet(json: Array(document.utf8))
        #expect(Array(set.keys.keys) == ["named"])
        #expect(set.allKeys.count == 2)
        #expect(set.keys(accepting: .eddsa).count == 2)
        #expect(set.keys(accepting: .es256).isEmpty)
        #expect(set.skipped == ["key 2: kid is not a non-empty string"])
        #expect(set.description.contains("(no kid) (Ed25519)"))
    }

    @Test func aStaleSetIsRefetchedAndARemovedKeyStopsVerifying() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now }, source: { try source.fetch() })
        let retired = try Ed25519SigningKey()
        let current = try Ed25519SigningKey()
        source.document = try Self.jwks([("retired", retired), ("current", current)])
        try store.reload()
        source.document = try Self.jwks([("current", current)])
        clock.now += 299
        #expect(!store.refreshIfDue())
        #expect(store.key(for: "retired") != nil)
        clock.now += 1
        #expect(store.refreshIfDue())
        #expect(source.fetches == 2)
        // Gone from the set; the unknown id may refetch once, and finds it gone there too.
        #expect(store.key(for: "retired") == nil)
        #expect(store.key(for: "current") != nil)
        #expect(!store.refreshIfDue())
    }

    @Test func aShorterCacheControlMaxAgeIsHonouredAndALongerOneIsNot() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now }, source: { try source.fetch() })
        source.maximumAge = 10
        try store.reload()
        clock.now += 9
        #expect(!store.refreshIfDue())
        source.maximumAge = 86_400
        clock.now += 1
        #expect(store.refreshIfDue())
        clock.now += 299
        #expect(!store.refreshIfDue())  // the last fetch said a day, JWKS_MAX_AGE says 300
        clock.now += 1
        #expect(store.refreshIfDue())
        #expect(source.fetches == 3)
    }

    @Test func failedRefreshesKeepTheSetRetryEachIntervalAndAreReportedOncePerMinute() throws {
        let source = Source()
        let clock = Clock()
        let messages = Mutex<[String]>([])
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now },
                                 log: { _, line in messages.withLock { $0.append(line) } }, source: { try source.fetch() })
        source.document = try Self.jwks([("kept", try Ed25519SigningKey())])
        try store.reload()
        source.failing = true
        clock.now += 300
        #expect(store.refreshIfDue())
        #expect(store.key(for: "kept") != nil)
        #expect(store.consecutiveFailures == 1)
        clock.now += 29
        #expect(!store.refreshIfDue())
        clock.now += 1
        #expect(store.refreshIfDue())
        clock.now += 30
        #expect(store.refreshIfDue())  // 60 s after the first report: reported again
        #expect(store.consecutiveFailures == 3)
        let failures = messages.withLock { $0 }
        #expect(failures.count == 2)
        #expect(failures.allSatisfy { $0.contains("could not be fetched") && $0.contains("keeping the 1 keys") })
        source.failing = false
        clock.now += 30
        #expect(store.refreshIfDue())
        #expect(store.consecutiveFailures == 0)
        #expect(messages.withLock { $0.last?.contains("loaded again after 3 failed attempts") } == true)
    }

    @Test func aChangedSetIsLoggedAndAnUnchangedOneIsNot() throws {
        let source = Source()
        let clock = Clock()
        let messages = Mutex<[String]>([])
        let store = JWKSKeyStore(sourceDescription: "test", maximumAge: 60, clock: { clock.now },
                                 log: { _, line in messages.withLock { $0.append(line) } }, source: { try source.fetch() })
        source.document = try Self.jwks([("one", try Ed25519SigningKey())])
        try store.reload()
        clock.now += 60
        store.refreshIfDue()
        #expect(messages.withLock { $0.isEmpty })
        source.document = try Self.jwks([("two", try Ed25519SigningKey())])
        clock.now += 60
        store.refreshIfDue()
        #expect(messages.withLock { $0 } .count == 1)
        #expect(messages.withLock { $0.first?.contains("changed: 1 keys: two (Ed25519)") } == true)
    }

    @Test func aNamelessTokenWithNoFittingKeyRefetchesOncePerInterval() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        try store.reload()
        #expect(store.keys(accepting: .eddsa).isEmpty)
        #expect(source.fetches == 2)
        source.document = try Self.jwks([("new", try Ed25519SigningKey())])
        #expect(store.keys(accepting: .eddsa).isEmpty)  // within the interval: no fetch
        clock.now += 30
        #expect(store.keys(accepting: .eddsa).count == 1)
        #expect(source.fetches == 3)
    }
}

@Suite("Cache-Control max-age")
struct CacheControlTests {
    @Test func parsesMaxAgeAndIgnoresWhatItDoesNotKnow() {
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=60") == 60)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "public, MAX-AGE=120, must-revalidate") == 120)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=\"30\"") == 30)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "no-store") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "private, no-cache, max-age=5") == 5)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "public") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=-5") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=99999999999999999999") == 9_999_999_999)
    }
}

import Crypto
import JSON
import JWT
import Testing

/// Builds tokens with arbitrary headers and payloads, for the negative cases.
func makeToken(header: String, payload: String, secret: [UInt8]) throws -> String {
    try JWTSigner(secret: secret).sign(payloadJSON: Array(payload.utf8), headerJSON: Array(header.utf8))
}

let secret = Array("0123456789abcdef0123456789abcdef-test-secret".utf8)
let now: Double = 1_800_000_000
let hs256 = #"{"alg":"HS256","typ":"JWT"}"#

func validPayload(sub: String = "alice", exp: Double = now + 600, extra: String = "") -> String {
    #"{"sub":"\#(sub)","iat":\#(Int(now)),"exp":\#(Int(exp))\#(extra)}"#
}

func verifier(issuer: String? = nil, audience: String? = nil) throws -> JWTVerifier {
    try JWTVerifier(configuration: JWTConfiguration(secret: secret, issuer: issuer, audience: audience))
}

func rejection(_ token: String, _ verifier: JWTVerifier? = nil) throws -> JWTError? {
    let verifier = try verifier ?? JWTVerifier(configuration: JWTConfiguration(secret: secret))
    do {
        _ = try verifier.verify(Array(token.utf8), nowSeconds: now)
        return nil
    } catch {
        return error
    }
}

@Suite("JWT verification")
struct JWTVerifierTests {
    @Test func rfc7515AppendixA1VectorVerifies() throws {
        // RFC 7515 A.1: HS256 with the JWK key below. The signature must verify; the payload
        // then fails only our own claim rule (it has no sub), which proves the MAC path.
        let key = Base64URL.decode(Array("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow".utf8))!
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
            + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let verifier = try JWTVerifier(configuration: JWTConfiguration(secret: key))
        #expect(throws: JWTError(.invalidClaim, "token sub claim must be a string")) {
            try verifier.verify(Array(token.utf8), nowSeconds: 1_300_819_000)
        }
        var flipped = Array(token.utf8)
        flipped[flipped.count - 5] = UInt8(ascii: "Y")  // one character of the signature changed
        #expect(throws: JWTError(.badSignature, "token signature does not match")) {
            try verifier.verify(flipped, nowSeconds: 1_300_819_000)
        }
    }

    @Test func jwtIOExampleMACMatches() throws {
        // The jwt.io HS256 example (secret shorter than our 32-byte minimum, so checked at the MAC level).
        let mac = try HMACSHA256(key: Array("your-256-bit-secret".utf8))
        let input = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        #expect(Base64URL.encode(try mac.authenticationCode(for: Array(input.utf8))) == "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    }

    @Test func rfc4231TestCase2() throws {
        let mac = try HMACSHA256(key: Array("Jefe".utf8))
        let code = try mac.authenticationCode(for: Array("what do ya want for nothing?".utf8))
        let hex = code.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func acceptsAValidToken() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: secret)
        let verified = try verifier().verify(Array(token.utf8), nowSeconds: now)
        #expect(verified == VerifiedToken(subject: "alice", expiresAt: now + 600))
    }

    @Test func acceptsHeaderWithoutTyp() throws {
        let token = try makeToken(header: #"{"alg":"HS256"}"#, payload: validPayload(), secret: secret)
        #expect(try rejection(token) == nil)
    }

    @Test(arguments: [#"{"alg":"none"}"#, #"{"alg":"None"}"#, #"{"alg":"NONE"}"#, #"{"alg":"HS384"}"#,
                      #"{"alg":"HS512"}"#, #"{"alg":"RS256"}"#, #"{"alg":"hs256"}"#, #"{"typ":"JWT"}"#,
                      #"{"alg":["HS256"]}"#])
    func rejectsOtherAlgorithms(_ header: String) throws {
        let token = try makeToken(header: header, payload: validPayload(), secret: secret)
        #expect(try rejection(token)?.kind == .unsupportedAlgorithm)
    }

    @Test func rejectsUnsignedNoneToken() throws {
        let token = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(validPayload().utf8)) + "."
        #expect(try rejection(token)?.kind == .unsupportedAlgorithm)
    }

    @Test(arguments: ["crit", "jku", "jwk", "x5u", "x5c"])
    func rejectsKeyReferencesAndCriticalExtensions(_ member: String) throws {
        let token = try makeToken(header: #"{"alg":"HS256","\#(member)":"x"}"#, payload: validPayload(), secret: secret)
        #expect(try rejection(token)?.kind == .unsupportedAlgorithm)
    }

    @Test func rejectsWrongSecret() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: Array("another-secret-that-is-32-bytes-long!".utf8))
        #expect(try rejection(token)?.kind == .badSignature)
    }

    @Test func rejectsTamperedPayload() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: secret)
        let parts = token.split(separator: ".")
        let forged = parts[0] + "." + Base64URL.encode(Array(validPayload(sub: "mallory").utf8)) + "." + parts[2]
        #expect(try rejection(String(forged))?.kind == .badSignature)
    }

    @Test func rejectsDuplicateHeaderAndPayloadKeys() throws {
        let header = try makeToken(header: #"{"alg":"none","alg":"HS256"}"#, payload: validPayload(), secret: secret)
        #expect(try rejection(header) == JWTError(.malformed, "token header is not valid JSON"))
        let payload = try makeToken(header: hs256, payload: #"{"sub":"a","sub":"b","exp":\#(Int(now) + 60)}"#, secret: secret)
        #expect(try rejection(payload) == JWTError(.malformed, "token payload is not valid JSON"))
    }

    @Test func rejectsWrongSegmentCounts() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: secret)
        let parts = token.split(separator: ".").map(String.init)
        #expect(try rejection(parts[0] + "." + parts[1])?.kind == .malformed)
        #expect(try rejection(token + ".extra")?.kind == .malformed)
        #expect(try rejection("")?.kind == .malformed)
        #expect(try rejection("..")?.kind == .malformed)
    }

    @Test func rejectsNonCanonicalBase64() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: secret)
        let parts = token.split(separator: ".").map(String.init)
        // Padding, the standard alphabet, whitespace, and non-zero trailing bits.
        #expect(try rejection(parts[0] + "=." + parts[1] + "." + parts[2])?.kind == .malformed)
        #expect(try rejection(parts[0] + "." + parts[1] + "." + parts[2] + "=")?.kind == .malformed)
        let standard = parts[2].replacingOccurrences("-", "+").replacingOccurrences("_", "/")
        if standard != parts[2] {
            #expect(try rejection(parts[0] + "." + parts[1] + "." + standard)?.kind == .malformed)
        }
        #expect(try rejection(parts[0] + " ." + parts[1] + "." + parts[2])?.kind == .malformed)
        var lastChanged = Array(parts[2].utf8)
        // 32 bytes encode to 43 chars whose last carries 2 unused bits: "c" (0b011100) sets one.
        lastChanged[42] = lastChanged[42] == UInt8(ascii: "c") ? UInt8(ascii: "d") : UInt8(ascii: "c")
        #expect(try rejection(parts[0] + "." + parts[1] + "." + String(decoding: lastChanged, as: UTF8.self)) != nil)
    }

    @Test func rejectsTruncatedSignature() throws {
        let token = try makeToken(header: hs256, payload: validPayload(), secret: secret)
        #expect(try rejection(String(token.dropLast(2)))?.kind == .malformed)
    }

    @Test func rejectsOversizedTokenWithoutDecoding() throws {
        let huge = String(repeating: "a", count: 8193)
        #expect(try rejection(huge) == JWTError(.malformed, "token is longer than 8192 bytes"))
    }

    @Test func enforcesExpiryWithLeeway() throws {
        let justExpired = try makeToken(header: hs256, payload: validPayload(exp: now - 29), secret: secret)
        #expect(try rejection(justExpired) == nil)
        let expired = try makeToken(header: hs256, payload: validPayload(exp: now - 31), secret: secret)
        #expect(try rejection(expired) == JWTError(.expired, "token expired"))
    }

    /// A subject with U+0000 could be stored shortened, as another user's id: refused.
    @Test func refusesASubjectWithNUL() throws {
        for sub in [#"alice\u0000"#, #"\u0000alice"#, #"al\u0000ice"#] {
            let token = try makeToken(header: hs256, payload: validPayload(sub: sub), secret: secret)
            #expect(try rejection(token) == JWTError(.invalidClaim, "token sub claim contains U+0000"), "sub \(sub)")
        }
        // Other escapes stay a subject like any other.
        #expect(try rejection(try makeToken(header: hs256, payload: validPayload(sub: #"al\u0001ice"#), secret: secret)) == nil)
    }

    @Test func requiresNumericExp() throws {
        let missing = try makeToken(header: hs256, payload: #"{"sub":"alice"}"#, secret: secret)
        #expect(try rejection(missing) == JWTError(.invalidClaim, "token has no exp claim"))
        let string = try makeToken(header: hs256, payload: #"{"sub":"alice","exp":"\#(Int(now) + 60)"}"#, secret: secret)
        #expect(try rejection(string) == JWTError(.invalidClaim, "token exp claim must be a number"))
    }

    @Test func enforcesNotBeforeAndIssuedAt() throws {
        let notYet = try makeToken(header: hs256, payload: validPayload(extra: #","nbf":\#(Int(now) + 31)"#), secret: secret)
        #expect(try rejection(notYet)?.kind == .notYetValid)
        let withinLeeway = try makeToken(header: hs256, payload: validPayload(extra: #","nbf":\#(Int(now) + 29)"#), secret: secret)
        #expect(try rejection(withinLeeway) == nil)
        let future = try makeToken(header: hs256, payload: #"{"sub":"a","iat":\#(Int(now) + 31),"exp":\#(Int(now) + 600)}"#, secret: secret)
        #expect(try rejection(future) == JWTError(.notYetValid, "token was issued in the future (iat)"))
        let stringNbf = try makeToken(header: hs256, payload: validPayload(extra: #","nbf":"0""#), secret: secret)
        #expect(try rejection(stringNbf)?.kind == .invalidClaim)
    }

    @Test(arguments: [#""sub":"""#, #""sub":[]"#, #""sub":{}"#, #""sub":1"#, #""sub":null"#, #""name":"x""#])
    func rejectsBadSubjects(_ member: String) throws {
        let token = try makeToken(header: hs256, payload: #"{\#(member),"exp":\#(Int(now) + 60)}"#, secret: secret)
        #expect(try rejection(token)?.kind == .invalidClaim)
    }

    @Test func checksIssuerAndAudienceWhenConfigured() throws {
        let strict = try verifier(issuer: "http://localhost:3000", audience: "http://localhost:3000")
        let good = try makeToken(header: hs256, payload: validPayload(extra: #","iss":"http://localhost:3000","aud":"http://localhost:3000""#), secret: secret)
        #expect(try rejection(good, strict) == nil)
        let list = try makeToken(header: hs256, payload: validPayload(extra: #","iss":"http://localhost:3000","aud":["x","http://localhost:3000"]"#), secret: secret)
        #expect(try rejection(list, strict) == nil)
        let wrongIssuer = try makeToken(header: hs256, payload: validPayload(extra: #","iss":"http://evil","aud":"http://localhost:3000""#), secret: secret)
        #expect(try rejection(wrongIssuer, strict) == JWTError(.issuerMismatch, "issuer mismatch"))
        let wrongAudience = try makeToken(header: hs256, payload: validPayload(extra: #","iss":"http://localhost:3000","aud":"http://evil""#), secret: secret)
        #expect(try rejection(wrongAudience, strict) == JWTError(.audienceMismatch, "audience mismatch"))
        let noAudience = try makeToken(header: hs256, payload: validPayload(extra: #","iss":"http://localhost:3000""#), secret: secret)
        #expect(try rejection(noAudience, strict)?.kind == .audienceMismatch)
    }

    @Test func refusesShortSecrets() {
        #expect(throws: JWTError.self) { try JWTConfiguration(secret: Array("short".utf8)) }
        #expect(throws: Never.self) { try JWTConfiguration(secret: [UInt8](repeating: 1, count: 32)) }
    }

    @Test func signerRoundTripsThroughVerifier() throws {
        let token = try JWTSigner(secret: secret).sign(subject: "user \"quoted\"/é", issuedAt: Int64(now), lifetime: 60,
                                                       issuer: "http://i", audience: "http://a")
        let verified = try verifier(issuer: "http://i", audience: "http://a").verify(Array(token.utf8), nowSeconds: now)
        #expect(verified.subject == "user \"quoted\"/é")
    }
}

import Crypto
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

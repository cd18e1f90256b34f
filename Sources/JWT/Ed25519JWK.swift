import Crypto
import JSON

/// An Ed25519 key pair as JWKs (RFC 8037): the private JWK `keygen` writes and `token --key`
/// reads, and the public JWK published in a JWKS.
public struct Ed25519JWK {
    /// The signing key.
    public let key: Ed25519SigningKey
    /// The key id (`kid`).
    public let keyID: String

    /// `key` under `keyID`.
    public init(key: Ed25519SigningKey, keyID: String) {
        self.key = key
        self.keyID = keyID
    }

    /// Reads a private JWK: `{"kty":"OKP","crv":"Ed25519","kid":...,"d":...}` (`x` is not needed).
    public init(privateJWK bytes: [UInt8]) throws(KeyError) {
        let jwk: [String: JSONValue]
        do {
            jwk = try JSONParser(maximumDepth: 4).parse(bytes).objectValue ?? [:]
        } catch {
            throw KeyError("not valid JSON: \(error.description)")
        }
        guard jwk["kty"]?.stringValue == "OKP", jwk["crv"]?.stringValue == "Ed25519" else {
            throw KeyError("not an Ed25519 JWK (kty OKP, crv Ed25519)")
        }
        guard case .string(let d)? = jwk["d"], let seed = Base64URL.decode(Array(d.utf8)), seed.count == 32 else {
            throw KeyError("no 32-byte private key d")
        }
        guard case .string(let kid)? = jwk["kid"], !kid.isEmpty else {
            throw KeyError("no kid")
        }
        do {
            key = try Ed25519SigningKey(seed: seed)
        } catch {
            throw KeyError("unusable private key: \(error)")
        }
        keyID = kid
    }

    /// The public JWK: `{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":...,"x":...}`.
    public func publicJWK() throws(CryptoError) -> [UInt8] {
        var writer = try members()
        writer.raw("}")
        return writer.bytes
    }

    /// The private JWK: the public members and `d`, the seed. Keep it secret.
    public func privateJWK() throws(CryptoError) -> [UInt8] {
        var writer = try members()
        writer.raw(",\"d\":")
        writer.string(Base64URL.encode(try key.seedBytes()))
        writer.raw("}")
        return writer.bytes
    }

    /// A JWKS document holding the public JWK alone.
    public func jwks() throws(CryptoError) -> [UInt8] {
        Array("{\"keys\":[".utf8) + (try publicJWK()) + Array("]}".utf8)
    }

    private func members() throws(CryptoError) -> JSONWriter {
        var writer = JSONWriter()
        writer.raw("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"kid\":")
        writer.string(keyID)
        writer.raw(",\"x\":")
        writer.string(Base64URL.encode(try key.publicKeyBytes()))
        return writer
    }
}

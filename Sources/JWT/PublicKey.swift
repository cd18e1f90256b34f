import Crypto
import JSON

/// A public key from a JWK, ready to verify JWS signatures (through `Crypto.EVPKey`).
///
/// Sendable: its key verifies from any thread (`EVPKey`), and nothing else changes.
public final class PublicKey: Sendable {
    /// The key types this service accepts.
    public enum Kind: Sendable, Equatable {
        case ed25519
        case p256
        case p521
        case rsa(bits: Int)
    }

    /// The key type.
    public let kind: Kind
    /// The JWK's `alg`, when it pins one.
    public let pinnedAlgorithm: SignatureAlgorithm?
    private let key: EVPKey

    /// The smallest RSA modulus accepted.
    public static let minimumRSABits = 2048

    private init(key: EVPKey, kind: Kind, pinnedAlgorithm: SignatureAlgorithm?) {
        self.key = key
        self.kind = kind
        self.pinnedAlgorithm = pinnedAlgorithm
    }

    /// Builds the key a JWK object describes (`kty` OKP/Ed25519, EC P-256/P-521, RSA ≥ 2048 bits).
    public convenience init(jwk: [String: JSONValue]) throws(KeyError) {
        let pinned: SignatureAlgorithm?
        switch jwk["alg"] {
        case nil: pinned = nil
        case .string(let name)?:
            guard let algorithm = SignatureAlgorithm(headerValue: name), algorithm != .hs256 else {
                throw KeyError("alg \(name) is not supported")
            }
            pinned = algorithm
        default: throw KeyError("alg must be a string")
        }
        if case .string(let use)? = jwk["use"], use != "sig" {
            throw KeyError("use \(use) is not sig")
        }
        switch (jwk["kty"]?.stringValue, jwk["crv"]?.stringValue) {
        case ("OKP", "Ed25519"):
            let x = try Self.member(jwk, "x", length: 32)
            self.init(key: try Self.made("Ed25519 key") { () throws(CryptoError) in try EVPKey.ed25519PublicKey(raw: x) },
                      kind: .ed25519, pinnedAlgorithm: pinned)
        case ("EC", "P-256"):
            self.init(key: try Self.ecKey(jwk, curve: "P-256", coordinateLength: 32), kind: .p256, pinnedAlgorithm: pinned)
        case ("EC", "P-521"):
            self.init(key: try Self.ecKey(jwk, curve: "P-521", coordinateLength: 66), kind: .p521, pinnedAlgorithm: pinned)
        case ("RSA", _):
            let key = try Self.rsaKey(jwk)
            let bits = key.bits
            guard bits >= Self.minimumRSABits else {
                throw KeyError("RSA key of \(bits) bits is under \(Self.minimumRSABits)")
            }
            self.init(key: key, kind: .rsa(bits: bits), pinnedAlgorithm: pinned)
        case (let kty, let crv):
            throw KeyError("key type \(kty ?? "(none)")\(crv.map { "/" + $0 } ?? "") is not supported")
        }
        if let pinned, !accepts(pinned) {
            throw KeyError("alg \(pinned.rawValue) does not fit the key type")
        }
    }

    /// Whether a token with `algorithm` may be verified with this key: the key decides.
    public func accepts(_ algorithm: SignatureAlgorithm) -> Bool {
        if let pinnedAlgorithm, pinnedAlgorithm != algorithm { return false }
        switch (kind, algorithm) {
        case (.ed25519, .eddsa), (.p256, .es256), (.p521, .es512), (.rsa, .rs256), (.rsa, .ps256): return true
        default: return false
        }
    }

    /// A short description for logs and `todo-fcgi check`, e.g. `Ed25519` or `RSA-2048`.
    public var summary: String {
        switch kind {
        case .ed25519: return "Ed25519"
        case .p256: return "EC P-256"
        case .p521: return "EC P-521"
        case .rsa(let bits): return "RSA-\(bits)"
        }
    }

    /// Verifies a JWS `signature` (raw, as it appears in the token) over `message`.
    /// Returns false for a wrong signature, a signature of the wrong length, or an algorithm the key refuses.
    public func verify(signature: [UInt8], message: UnsafeRawBufferPointer, algorithm: SignatureAlgorithm) -> Bool {
        guard accepts(algorithm) else { return false }
        let encoded: [UInt8]
        switch algorithm {
        case .es256:
            guard let der = ECDSASignature.der(fromRaw: signature, coordinateLength: 32) else { return false }
            encoded = der
        case .es512:
            guard let der = ECDSASignature.der(fromRaw: signature, coordinateLength: 66) else { return false }
            encoded = der
        case .eddsa:
            guard signature.count == 64 else { return false }
            encoded = signature
        default:
            encoded = signature
        }
        let digest: EVPKey.Digest
        switch algorithm {
        case .eddsa: digest = .none
        case .es512: digest = .sha512
        default: digest = .sha256
        }
        let padding: EVPKey.RSAPadding? = algorithm == .rs256 ? .pkcs1 : algorithm == .ps256 ? .pss : nil
        return key.verify(signature: encoded, message: message, digest: digest, padding: padding)
    }

    private static func member(_ jwk: [String: JSONValue], _ name: String, length: Int? = nil) throws(KeyError) -> [UInt8] {
        guard case .string(let text)? = jwk[name], let bytes = Base64URL.decode(Array(text.utf8)), !bytes.isEmpty else {
            throw KeyError("\(name) is missing or not base64url")
        }
        if let length, bytes.count != length {
            throw KeyError("\(name) must be \(length) bytes, not \(bytes.count)")
        }
        return bytes
    }

    private static func ecKey(_ jwk: [String: JSONValue], curve: String, coordinateLength: Int) throws(KeyError) -> EVPKey {
        let point = [0x04] + (try member(jwk, "x", length: coordinateLength)) + (try member(jwk, "y", length: coordinateLength))
        return try made("\(curve) point") { () throws(CryptoError) in try EVPKey.ecPublicKey(curve: curve, point: point) }
    }

    private static func rsaKey(_ jwk: [String: JSONValue]) throws(KeyError) -> EVPKey {
        let modulus = try member(jwk, "n")
        let exponent = try member(jwk, "e")
        return try made("RSA key") { () throws(CryptoError) in try EVPKey.rsaPublicKey(modulus: modulus, exponent: exponent) }
    }

    /// The key `make` builds; OpenSSL's refusal becomes the JWK's error, naming what was invalid.
    private static func made(_ what: String, _ make: () throws(CryptoError) -> EVPKey) throws(KeyError) -> EVPKey {
        do {
            return try make()
        } catch {
            throw KeyError("invalid \(what): \(error)")
        }
    }
}

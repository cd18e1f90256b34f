import CCrypto
import JSON

/// A public key from a JWK, ready to verify JWS signatures through OpenSSL's EVP API.
///
/// `@unchecked Sendable`: the EVP_PKEY is immutable after construction, and OpenSSL allows
/// concurrent use of one key for verification as long as each call has its own EVP_MD_CTX,
/// which `verify` creates.
public final class PublicKey: @unchecked Sendable {
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
            guard let raw = x.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(todo_evp_pkey_ed25519(), nil, $0.baseAddress, 32) }) else {
                throw KeyError("invalid Ed25519 key: \(CryptoError.takingQueue("EVP_PKEY_new_raw_public_key"))")
            }
            self.init(key: EVPKey(owning: raw), kind: .ed25519, pinnedAlgorithm: pinned)
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
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        var keyContext: OpaquePointer?
        let digest: OpaquePointer?
        switch algorithm {
        case .eddsa: digest = nil
        case .es512: digest = EVP_sha512()
        default: digest = EVP_sha256()
        }
        guard EVP_DigestVerifyInit(context, &keyContext, digest, nil, key.pointer) == 1 else { return false }
        switch algorithm {
        case .rs256:
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, todo_rsa_pkcs1_padding()) == 1 else { return false }
        case .ps256:
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, todo_rsa_pss_padding()) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, todo_rsa_pss_saltlen_digest()) == 1 else { return false }
        default:
            break
        }
        let result = encoded.withUnsafeBufferPointer { sig in
            EVP_DigestVerify(context, sig.baseAddress, sig.count,
                             message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        }
        return result == 1
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
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw KeyError("no EC support in libcrypto") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        let ok = "group".withCString { groupName in
            curve.withCString { curveName in
                "pub".withCString { pubName in
                    point.withUnsafeBufferPointer { pointBytes in
                        var params = [
                            OSSL_PARAM_construct_utf8_string(groupName, UnsafeMutablePointer(mutating: curveName), 0),
                            OSSL_PARAM_construct_octet_string(pubName, UnsafeMutableRawPointer(mutating: pointBytes.baseAddress), pointBytes.count),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_PKEY_fromdata_init(context) == 1
                            && EVP_PKEY_fromdata(context, &key, todo_evp_pkey_public_key_selection(), &params) == 1
                    }
                }
            }
        }
        guard ok, let key else { throw KeyError("invalid \(curve) point: \(CryptoError.takingQueue("EVP_PKEY_fromdata"))") }
        let owned = EVPKey(owning: key)
        try requireValidPublicKey(owned, curve)
        return owned
    }

    private static func rsaKey(_ jwk: [String: JSONValue]) throws(KeyError) -> EVPKey {
        let modulus = try member(jwk, "n")
        let exponent = try member(jwk, "e")
        let n = modulus.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let e = exponent.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer {
            BN_free(n)
            BN_free(e)
        }
        guard let n, let e, let builder = OSSL_PARAM_BLD_new() else { throw KeyError("invalid RSA parameters") }
        defer { OSSL_PARAM_BLD_free(builder) }
        // The builder and the params it makes keep pointers to the names, not copies:
        // the names must outlive both, hence one scope around everything.
        let key: EVPKey? = "n".withCString { nName in
            "e".withCString { eName in
                guard OSSL_PARAM_BLD_push_BN(builder, nName, n) == 1, OSSL_PARAM_BLD_push_BN(builder, eName, e) == 1,
                      let params = OSSL_PARAM_BLD_to_param(builder) else { return nil }
                defer { OSSL_PARAM_free(params) }
                guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { return nil }
                defer { EVP_PKEY_CTX_free(context) }
                var key: OpaquePointer?
                guard EVP_PKEY_fromdata_init(context) == 1,
                      EVP_PKEY_fromdata(context, &key, todo_evp_pkey_public_key_selection(), params) == 1 else { return nil }
                return key.map(EVPKey.init(owning:))
            }
        }
        guard let key else { throw KeyError("invalid RSA key: \(CryptoError.takingQueue("EVP_PKEY_fromdata"))") }
        try requireValidPublicKey(key, "RSA")
        return key
    }

    /// Throws unless OpenSSL finds `key` a valid public key (an EC point on its curve, a sane RSA
    /// modulus). The key stays owned by the caller either way.
    private static func requireValidPublicKey(_ key: EVPKey, _ name: String) throws(KeyError) {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else { throw KeyError("out of memory") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_public_check(context) == 1 else {
            throw KeyError("invalid \(name) public key: \(CryptoError.takingQueue("EVP_PKEY_public_check"))")
        }
    }
}

import CCrypto

/// An `EVP_PKEY` owned from the moment OpenSSL hands it over: freed once, in `deinit`, on every
/// path (a key refused by a later check included). Made from the raw public parts a JWK carries,
/// each checked by OpenSSL (an EC point on its curve, a sane RSA modulus); verifies signatures.
///
/// `@unchecked Sendable`: the key is never modified after construction, and OpenSSL allows one
/// key to be used for verification from several threads at once (each call has its own
/// `EVP_MD_CTX`, made by `verify`).
public final class EVPKey: @unchecked Sendable {
    /// The key, valid as long as this object lives.
    let pointer: OpaquePointer

    /// The digest a signature is verified with.
    public enum Digest: Sendable {
        /// None (Ed25519 signs the message itself).
        case none
        case sha256
        case sha512
    }

    /// The padding of an RSA signature.
    public enum RSAPadding: Sendable {
        /// RSASSA-PKCS1-v1_5.
        case pkcs1
        /// RSASSA-PSS, salt as long as the digest.
        case pss
    }

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// The key size in bits (the RSA modulus, the EC group order).
    public var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// The Ed25519 public key whose 32 bytes are `raw`.
    public static func ed25519PublicKey(raw: [UInt8]) throws(CryptoError) -> EVPKey {
        guard raw.count == 32,
              let key = raw.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(todo_evp_pkey_ed25519(), nil, $0.baseAddress, 32) }) else {
            throw CryptoError.takingQueue("EVP_PKEY_new_raw_public_key")
        }
        return EVPKey(owning: key)
    }

    /// The public key at uncompressed `point` (0x04, x, y) on `curve` (OpenSSL's group name,
    /// e.g. "P-256"), checked to lie on it.
    public static func ecPublicKey(curve: String, point: [UInt8]) throws(CryptoError) -> EVPKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw CryptoError.takingQueue("EVP_PKEY_CTX_new_from_name(EC)") }
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
        guard ok, let key else { throw CryptoError.takingQueue("EVP_PKEY_fromdata") }
        let owned = EVPKey(owning: key)
        try owned.requireValidPublicKey()
        return owned
    }

    /// The RSA public key with big-endian `modulus` and `exponent`, checked by OpenSSL.
    public static func rsaPublicKey(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) -> EVPKey {
        let n = modulus.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let e = exponent.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer {
            BN_free(n)
            BN_free(e)
        }
        guard let n, let e, let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.takingQueue("BN_bin2bn") }
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
        guard let key else { throw CryptoError.takingQueue("EVP_PKEY_fromdata") }
        try key.requireValidPublicKey()
        return key
    }

    /// Throws unless OpenSSL finds this a valid public key (an EC point on its curve, a sane RSA
    /// modulus).
    private func requireValidPublicKey() throws(CryptoError) {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { throw CryptoError.takingQueue("EVP_PKEY_CTX_new_from_pkey") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_public_check(context) == 1 else { throw CryptoError.takingQueue("EVP_PKEY_public_check") }
    }

    /// Whether `signature` (DER for ECDSA, raw for Ed25519 and RSA) signs `message` under this key
    /// with `digest` (and, for RSA, `padding`). False for any failure, the queue left empty.
    public func verify(signature: [UInt8], message: UnsafeRawBufferPointer, digest: Digest, padding: RSAPadding? = nil) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        var keyContext: OpaquePointer?
        let digestAlgorithm: OpaquePointer?
        switch digest {
        case .none: digestAlgorithm = nil
        case .sha256: digestAlgorithm = EVP_sha256()
        case .sha512: digestAlgorithm = EVP_sha512()
        }
        guard EVP_DigestVerifyInit(context, &keyContext, digestAlgorithm, nil, pointer) == 1 else { return false }
        switch padding {
        case .pkcs1?:
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, todo_rsa_pkcs1_padding()) == 1 else { return false }
        case .pss?:
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, todo_rsa_pss_padding()) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, todo_rsa_pss_saltlen_digest()) == 1 else { return false }
        case nil:
            break
        }
        let result = signature.withUnsafeBufferPointer { sig in
            EVP_DigestVerify(context, sig.baseAddress, sig.count, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        }
        return result == 1
    }
}

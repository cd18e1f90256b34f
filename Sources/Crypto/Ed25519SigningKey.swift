import CCrypto

/// An Ed25519 private key, for `todo-fcgi keygen` / `token --key` and for tests: it lets a
/// developer mint tokens shaped like Better Auth's without running Better Auth (`signToken`,
/// in JWT).
/// Not Sendable: it owns an EVP_PKEY used for signing.
public final class Ed25519SigningKey {
    private let key: OpaquePointer

    /// A fresh random key.
    public init() throws(CryptoError) {
        guard let context = EVP_PKEY_CTX_new_id(todo_evp_pkey_ed25519(), nil) else { throw CryptoError.takingQueue("EVP_PKEY_CTX_new_id") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_generate(context, &key) == 1, let key else {
            throw CryptoError.takingQueue("EVP_PKEY_generate(Ed25519)")
        }
        self.key = key
    }

    /// The key with the 32-byte private `seed` (a JWK's `d`).
    public init(seed: [UInt8]) throws(CryptoError) {
        guard seed.count == 32,
              let key = seed.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(todo_evp_pkey_ed25519(), nil, $0.baseAddress, 32) }) else {
            throw CryptoError.takingQueue("EVP_PKEY_new_raw_private_key(Ed25519)")
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// The 32-byte public key (a JWK's `x`).
    public func publicKeyBytes() throws(CryptoError) -> [UInt8] {
        try raw(EVP_PKEY_get_raw_public_key, "EVP_PKEY_get_raw_public_key")
    }

    /// The 32-byte private seed (a JWK's `d`).
    public func seedBytes() throws(CryptoError) -> [UInt8] {
        try raw(EVP_PKEY_get_raw_private_key, "EVP_PKEY_get_raw_private_key")
    }

    private func raw(_ getter: (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int>?) -> Int32,
                     _ name: String) throws(CryptoError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        var length = 32
        let ok = bytes.withUnsafeMutableBufferPointer { getter(key, $0.baseAddress, &length) }
        guard ok == 1, length == 32 else { throw CryptoError.takingQueue(name) }
        return bytes
    }

    /// The 64-byte Ed25519 signature of `message`.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.takingQueue("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        let ok = message.withUnsafeBufferPointer { input in
            signature.withUnsafeMutableBufferPointer { out in
                EVP_DigestSignInit(context, nil, nil, nil, key) == 1
                    && EVP_DigestSign(context, out.baseAddress, &length, input.baseAddress, input.count) == 1
            }
        }
        guard ok, length == 64 else { throw CryptoError.takingQueue("EVP_DigestSign(Ed25519)") }
        return signature
    }
}

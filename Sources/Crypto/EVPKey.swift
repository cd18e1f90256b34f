import CCrypto

/// An `EVP_PKEY` owned from the moment OpenSSL hands it over: freed once, in `deinit`, on every
/// path (a key refused by a later check included).
///
/// `@unchecked Sendable`: the key is never modified after construction, and OpenSSL allows one
/// key to be used for verification from several threads at once (each call has its own
/// `EVP_MD_CTX`); `PublicKey` shares it that way.
final class EVPKey: @unchecked Sendable {
    /// The key, valid as long as this object lives.
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// The key size in bits (the RSA modulus, the EC group order).
    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
}

import CCrypto

/// HMAC-SHA256 with a fixed key, through OpenSSL 3's EVP_MAC.
///
/// The MAC context is keyed once and re-initialised per message, which avoids
/// the algorithm fetch (and its global lock) that one-shot `HMAC()` pays on
/// every call. Not Sendable: each thread keeps its own instance.
public final class HMACSHA256 {
    /// The length of a SHA-256 MAC in bytes.
    public static let byteCount = 32

    private let mac: OpaquePointer
    private let context: OpaquePointer

    /// Creates a MAC keyed with `key`.
    public init(key: [UInt8]) throws(CryptoError) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError.takingQueue("EVP_MAC_fetch(HMAC)") }
        guard let context = EVP_MAC_CTX_new(mac) else {
            EVP_MAC_free(mac)
            throw CryptoError.takingQueue("EVP_MAC_CTX_new")
        }
        self.mac = mac
        self.context = context
        let initialised = "digest".withCString { name in
            "SHA256".withCString { digest in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                    OSSL_PARAM_construct_end(),
                ]
                // A zero-length key still needs a non-null pointer: pass one byte's buffer, length 0.
                let storage = key.isEmpty ? [0] : key
                return storage.withUnsafeBufferPointer { keyBytes in
                    EVP_MAC_init(context, keyBytes.baseAddress, key.count, &params)
                }
            }
        }
        guard initialised == 1 else { throw CryptoError.takingQueue("EVP_MAC_init") }
    }

    deinit {
        EVP_MAC_CTX_free(context)
        EVP_MAC_free(mac)
    }

    /// The MAC of `message`.
    public func authenticationCode(for message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Self.byteCount)
        var length = 0
        let ok = output.withUnsafeMutableBufferPointer { out in
            EVP_MAC_init(context, nil, 0, nil) == 1
                && EVP_MAC_update(context, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
                && EVP_MAC_final(context, out.baseAddress, &length, out.count) == 1
        }
        guard ok, length == Self.byteCount else { throw CryptoError.takingQueue("HMAC-SHA256") }
        return output
    }

    /// The MAC of `message`.
    public func authenticationCode(for message: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        let bytes = Array(message)
        let result = bytes.withUnsafeBytes { raw in Result { () throws(CryptoError) in try authenticationCode(for: raw) } }
        return try result.get()
    }
}

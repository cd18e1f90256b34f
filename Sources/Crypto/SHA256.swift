import CCrypto
import ASCII

/// SHA-256 through OpenSSL's EVP digest API.
public enum SHA256 {
    /// The digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        let input = Array(bytes)
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = input.withUnsafeBytes { inputBytes in
            output.withUnsafeMutableBufferPointer { out in
                EVP_Digest(inputBytes.baseAddress, inputBytes.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        guard ok == 1, length == 32 else { throw CryptoError.takingQueue("EVP_Digest(SHA-256)") }
        return output
    }

    /// The first `count` hex digits of the digest of `bytes`, e.g. for logging an identifier without revealing it.
    public static func hexPrefix(of bytes: some Collection<UInt8>, count: Int = 12) -> String {
        hexPrefix(ofDigest: (try? hash(bytes)) ?? [], count: count)
    }

    /// The first `count` hex digits of a `digest` already made ("-" for none: hashing failed).
    public static func hexPrefix(ofDigest digest: [UInt8], count: Int = 12) -> String {
        guard !digest.isEmpty else { return "-" }
        return String(ASCIIHex.encode(digest.prefix((count + 1) / 2)).prefix(count))
    }
}

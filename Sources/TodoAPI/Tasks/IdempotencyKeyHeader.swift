import ASCII
import Crypto
import TaskModel

/// The `Idempotency-Key` header of a create.
enum IdempotencyKeyHeader {
    /// The longest key.
    static let maximumLength = 255

    /// The key of `header` with the fingerprint of `body`; nil when absent (or empty); 400
    /// `invalid_idempotency_key` unless 1...255 visible ASCII characters (0x21...0x7E).
    static func parse(_ header: String?, body: [UInt8]) throws(APIError) -> IdempotencyKey? {
        guard let header, !header.isEmpty else { return nil }
        guard header.utf8.count <= maximumLength, header.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw APIError(.invalidIdempotencyKey, detail: "Idempotency-Key must be 1 to \(maximumLength) visible ASCII characters.")
        }
        guard let digest = try? SHA256.hash(body) else { throw APIError.internalError }
        return IdempotencyKey(key: header, fingerprint: ASCIIHex.encode(digest))
    }
}

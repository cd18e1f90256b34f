import ASCII
import Crypto

/// The database's sync cursor key (`todo_keys`): made once by `migrate`, shared by every worker
/// of the database, carried by `copy`, and used by the application's `SyncCursor` to bind each
/// cursor to its user.
public enum SyncCursorKey {
    /// The length of a key, in bytes.
    public static let byteCount = 32

    /// A new random key, in the hex form the databases store.
    public static func make() throws(CryptoError) -> String {
        ASCIIHex.encode(try SecureRandom.bytes(count: byteCount))
    }

    /// The key bytes of a stored hex key, nil if it is not one.
    public static func key(fromHex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 2 * byteCount else { return nil }
        var key: [UInt8] = []
        key.reserveCapacity(byteCount)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = ASCIIHex.value(of: digits[index]), let low = ASCIIHex.value(of: digits[index + 1]) else { return nil }
            key.append(high << 4 | low)
        }
        return key
    }
}

import ASCII
import Crypto
import JWT
import TaskModel

/// The opaque `cursor` of `/tasks/changes`: a `SyncPosition` bound to its user by an
/// HMAC-SHA256 under the database's own cursor key (`todo_keys`, made once by `migrate`, shared
/// by every worker of the database and carried along by `copy`). A cursor made up, edited, or
/// taken from another user's answer fails the MAC: `invalid_cursor`, never a position in
/// someone else's numbering. It tells nothing about other users: the numbers count this user's
/// own changes.
///
/// Not Sendable: it keeps one thread's keyed MAC context.
public final class SyncCursor {
    private let mac: HMACSHA256

    /// The cursor format this build writes: the first byte of every cursor.
    static let formatVersion: UInt8 = 1
    /// Bytes of the MAC kept in a cursor (128 bits).
    static let macByteCount = 16
    /// format, change, floor, MAC.
    static let byteCount = 1 + 8 + 8 + macByteCount

    /// A codec keyed with the database's cursor key.
    public init(key: [UInt8]) throws(CryptoError) {
        mac = try HMACSHA256(key: key)
    }

    /// The cursor of `position` for `userID`.
    public func encode(_ position: SyncPosition, userID: String) -> String {
        var bytes: [UInt8] = [Self.formatVersion]
        bytes.reserveCapacity(Self.byteCount)
        Self.append(position.change, to: &bytes)
        Self.append(position.floor, to: &bytes)
        bytes += check(bytes, userID: userID)
        return Base64URL.encode(bytes)
    }

    /// The position of `cursor`, if it is one issued to `userID` under this key.
    public func decode(_ cursor: String, userID: String) -> SyncPosition? {
        guard cursor.utf8.count <= 64, let bytes = Base64URL.decode(Array(cursor.utf8)),
              bytes.count == Self.byteCount, bytes[0] == Self.formatVersion else { return nil }
        let signed = Array(bytes[0..<(Self.byteCount - Self.macByteCount)])
        guard ConstantTime.equal(Array(bytes[signed.count...]), check(signed, userID: userID)) else { return nil }
        let position = SyncPosition(change: Self.integer(signed[1..<9]), floor: Self.integer(signed[9..<17]))
        guard position.change >= 0, position.floor >= 0 else { return nil }
        return position
    }

    /// The MAC of the user and the signed bytes: a NUL separates them (user ids hold none).
    private func check(_ signed: [UInt8], userID: String) -> [UInt8] {
        let message = Array("todo-fcgi sync cursor\u{0}\(userID)\u{0}".utf8) + signed
        // The MAC context was keyed at init; only an allocation failure inside OpenSSL can fail
        // here, and then no cursor verifies (an empty check never equals 16 bytes).
        guard let code = try? mac.authenticationCode(for: message) else { return [] }
        return Array(code[0..<Self.macByteCount])
    }

    private static func append(_ value: Int64, to bytes: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> Int64 {
        Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}

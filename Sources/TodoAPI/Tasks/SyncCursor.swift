import ASCII
import JWT

/// The opaque `cursor` of `/tasks/changes`: the user's change number, bound to the user by a
/// digest, so a cursor made up or taken from another user's answer is `invalid_cursor` rather
/// than a position in someone else's numbering. It tells nothing about other users: the
/// number counts this user's own changes.
public enum SyncCursor {
    /// The cursor of change `change` for `userID`.
    public static func encode(change: Int64, userID: String) -> String {
        let text = "\(change).\(check(change: change, userID: userID))"
        return Base64URL.encode(Array(text.utf8))
    }

    /// The change number of `cursor`, if it is one this service issued to `userID`.
    public static func decode(_ cursor: String, userID: String) -> Int64? {
        guard cursor.utf8.count <= 64, let bytes = Base64URL.decode(Array(cursor.utf8)) else { return nil }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, let change = ASCIIDecimal.parse(parts[0]) else { return nil }
        guard String(decoding: parts[1], as: UTF8.self) == check(change: change, userID: userID) else { return nil }
        return change
    }

    private static func check(change: Int64, userID: String) -> String {
        SHA256.hexPrefix(of: Array("todo-fcgi sync cursor\u{0}\(userID)\u{0}\(change)".utf8), count: 16)
    }
}

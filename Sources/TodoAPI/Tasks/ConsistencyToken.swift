import ASCII
import TaskModel

/// `X-Consistency-Token` (docs/API.md, "Reads that see your writes"): every 2xx answer to a
/// write carries one, naming the user's changes up to that write; a read that sends it back is
/// served from a snapshot holding them, by the read database (a standby) once it has replayed
/// them, else by the primary. Opaque to clients: `ct1.` and the user's change number.
///
/// A read without a token, or with one this service did not give (malformed, too long), is
/// served by the primary: it sees every write, so a bad token can cost speed, never correctness.
/// Several tokens, comma-separated (a client merging the tokens of several tabs), need them all.
public enum ConsistencyToken {
    /// The header a write answers with the token and a read sends it back in.
    public static let headerName = "X-Consistency-Token"
    /// The version prefix.
    static let prefix = "ct1."
    /// The longest header value read; longer ones count as malformed.
    static let maximumLength = 256
    /// The longest change number, in digits (below 2^63).
    static let maximumDigits = 18

    /// The token of the user's change `change`.
    public static func encode(_ change: Int64) -> String {
        prefix + String(change)
    }

    /// What a read sending `header` must see: `.atLeast` the highest change its tokens name, or
    /// `.latest` when it sends none or any is malformed.
    public static func readConsistency(_ header: String?) -> ReadConsistency {
        guard let header, !header.isEmpty, header.utf8.count <= maximumLength else { return .latest }
        var highest: Int64 = -1
        for part in header.split(separator: ",", omittingEmptySubsequences: false) {
            guard let change = change(of: part.trimmingASCIISpaces) else { return .latest }
            highest = max(highest, change)
        }
        return .atLeast(highest)
    }

    /// The change number of one token, nil unless it is `ct1.` and 1...18 decimal digits.
    private static func change(of token: Substring) -> Int64? {
        guard token.hasPrefix(prefix) else { return nil }
        let digits = token.utf8.dropFirst(prefix.utf8.count)
        guard (1...maximumDigits).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
    }
}

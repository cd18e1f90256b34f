import ASCII
import TaskModel


/// Task ids in paths: canonical positive decimal up to 2^63 - 1.
public enum TaskID {
    /// The id spelled by `bytes`, or nil for `0`, `007`, `+7`, `-1`, `7a` or anything too large.
    public static func parse(_ bytes: [UInt8]) -> Int64? {
        // Canonical: no leading zero, so one id has one spelling.
        guard let first = bytes.first, first != UInt8(ascii: "0") else { return nil }
        return ASCIIDecimal.parse(bytes)
    }
}

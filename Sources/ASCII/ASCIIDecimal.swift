/// Decimal integers as ASCII digits: the one parser behind task ids, `Content-Length` and
/// list query numbers.
public enum ASCIIDecimal {
    /// Whether `byte` is `0`–`9`.
    @inlinable
    public static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The non-negative integer spelled by `bytes`: digits only (no sign, no spaces), at least one;
    /// nil when anything else is there or the value does not fit in an `Int64`.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, carried) = shifted.addingReportingOverflow(Int64(byte &- UInt8(ascii: "0")))
            guard !overflowed, !carried else { return nil }
            value = sum
        }
        return value
    }

    /// Like `parse`, with one optional leading `-`.
    @inlinable
    public static func parseSigned(_ bytes: some Collection<UInt8>) -> Int64? {
        guard bytes.first == UInt8(ascii: "-") else { return parse(bytes) }
        // Accumulated below zero: Int64.min has no positive counterpart.
        let digits = bytes.dropFirst()
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard isDigit(byte) else { return nil }
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (difference, borrowed) = shifted.subtractingReportingOverflow(Int64(byte &- UInt8(ascii: "0")))
            guard !overflowed, !borrowed else { return nil }
            value = difference
        }
        return value
    }
}

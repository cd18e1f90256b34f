/// Hexadecimal digits as bytes: the one table the writers (JSON `\u00XX`, percent-encoding,
/// digests in logs) and the percent-decoder share.
public enum ASCIIHex {
    /// `0`–`9`, `a`–`f`.
    public static let lowercase: [UInt8] = Array("0123456789abcdef".utf8)
    /// `0`–`9`, `A`–`F`.
    public static let uppercase: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The uppercase hex digit of `value` (0...15), computed: for per-byte writers, where reading
    /// the shared table costs a retain each time.
    @inlinable
    public static func uppercaseDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") &+ value : UInt8(ascii: "A") &+ (value &- 10)
    }

    /// The value of one hex digit of either case, or nil.
    @inlinable
    public static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// The two lowercase hex digits of each byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        for byte in bytes {
            text.append(lowercase[Int(byte >> 4)])
            text.append(lowercase[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

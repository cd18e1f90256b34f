import ASCII
import TaskModel

/// Percent-decoding (RFC 3986 §2.1) that refuses malformed escapes instead of guessing.
public enum PercentDecoding {
    /// Decodes `%XX` escapes; with `plusAsSpace` also `+` (form encoding, for query strings).
    /// Returns nil for a `%` not followed by two hex digits.
    public static func decode(_ bytes: some Collection<UInt8>, plusAsSpace: Bool = false) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(ASCIIHex.value(of:)), let low = iterator.next().flatMap(ASCIIHex.value(of:)) else {
                    return nil
                }
                output.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                output.append(UInt8(ascii: " "))
            default:
                output.append(byte)
            }
        }
        return output
    }

    /// Encodes every byte outside RFC 3986's unreserved set, so the result is safe in a path segment and a header.
    /// With `keepingSubDelimiters`, the sub-delimiters and `:` `@` a path segment allows (`pchar`)
    /// stay too: CalDAV hrefs keep the names clients chose (`<uid>@<host>.ics`) as they wrote them.
    public static func encodePathSegment(_ bytes: some Sequence<UInt8>, keepingSubDelimiters: Bool = false) -> String {
        let hex = ASCIIHex.uppercase
        var output: [UInt8] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            case _ where keepingSubDelimiters && "!$'()*+,;=:@".utf8.contains(byte):
                output.append(byte)
            default:
                output.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

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
        var output: [UInt8] = []
        appendPathSegment(bytes, keepingSubDelimiters: keepingSubDelimiters, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `bytes` encoded as `encodePathSegment` encodes them to `output`.
    public static func appendPathSegment(_ bytes: some Sequence<UInt8>, keepingSubDelimiters: Bool = false, to output: inout [UInt8]) {
        let appended: Void? = bytes.withContiguousStorageIfAvailable {
            appendPathSegment($0, keepingSubDelimiters: keepingSubDelimiters, to: &output)
        }
        if appended == nil {
            Array(bytes).withUnsafeBufferPointer { appendPathSegment($0, keepingSubDelimiters: keepingSubDelimiters, to: &output) }
        }
    }

    /// `appendPathSegment` on contiguous bytes: the runs that stay as they are (a whole name,
    /// nearly always) in one copy each.
    public static func appendPathSegment(_ bytes: UnsafeBufferPointer<UInt8>, keepingSubDelimiters: Bool, to output: inout [UInt8]) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if isKept(byte, keepingSubDelimiters: keepingSubDelimiters) { continue }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            output.append(UInt8(ascii: "%"))
            output.append(ASCIIHex.uppercaseDigit(byte >> 4))
            output.append(ASCIIHex.uppercaseDigit(byte & 0x0F))
            runStart = index + 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }

    /// Whether `byte` stays as it is: RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`),
    /// and with `keepingSubDelimiters` also `!$'()*+,;=:@` (the rest of `pchar`). Both sets are
    /// bits of two words (bytes 0–63, 64–127): a test per byte for the writers of many hrefs.
    @inline(__always)
    private static func isKept(_ byte: UInt8, keepingSubDelimiters: Bool) -> Bool {
        guard byte < 128 else { return false }
        let digitsAndMarks: UInt64 = 0x03FF_0000_0000_0000 | 1 << 0x2D | 1 << 0x2E  // 0-9 - .
        let letters: UInt64 = 0x07FF_FFFE_07FF_FFFE | 1 << (0x5F - 64) | 1 << (0x7E - 64)  // A-Z a-z _ ~
        let subDelimiters: UInt64 = 1 << 0x21 | 1 << 0x24 | 1 << 0x27 | 1 << 0x28 | 1 << 0x29 | 1 << 0x2A | 1 << 0x2B
            | 1 << 0x2C | 1 << 0x3B | 1 << 0x3D | 1 << 0x3A  // ! $ ' ( ) * + , ; = :
        let at: UInt64 = 1 << (0x40 - 64)  // @
        let low = keepingSubDelimiters ? digitsAndMarks | subDelimiters : digitsAndMarks
        let high = keepingSubDelimiters ? letters | at : letters
        return (byte < 64 ? low >> UInt64(byte) : high >> UInt64(byte - 64)) & 1 != 0
    }
}

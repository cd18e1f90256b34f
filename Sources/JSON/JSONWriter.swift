import ASCII

/// Appends JSON text to a byte buffer without building intermediate values.
///
/// The caller is responsible for the structure (commas, brackets); the writer
/// guarantees that every string it emits is correctly escaped.
public struct JSONWriter {
    /// The JSON text written so far.
    public private(set) var bytes: [UInt8]

    /// Creates a writer whose buffer has room for `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends structural ASCII text verbatim, e.g. `{"id":`.
    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `json`, already valid JSON this service wrote itself, unchanged.
    public mutating func raw(utf8 json: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: json)
    }

    /// Appends a JSON string literal with quotes and escapes.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { appendEscaped($0) }
    }

    /// Appends raw UTF-8 bytes (already known to be valid UTF-8) as a JSON string literal with quotes and escapes.
    public mutating func string(utf8 value: UnsafeBufferPointer<UInt8>) {
        appendEscaped(value)
    }

    /// Appends a string literal whose content `fill` writes directly; the caller guarantees
    /// it needs no escaping (e.g. a timestamp made of digits and punctuation).
    public mutating func unescapedString(_ fill: (inout [UInt8]) -> Void) {
        bytes.append(UInt8(ascii: "\""))
        fill(&bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            runStart = index + 1
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                let hex = ASCIIHex.lowercase
                bytes.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends a decimal integer.
    public mutating func integer(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDigits(value.magnitude)
        } else {
            appendDigits(UInt64(value))
        }
    }

    private mutating func appendDigits(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var remaining = value
        repeat {
            bytes.append(UInt8(truncatingIfNeeded: remaining / divisor) + UInt8(ascii: "0"))
            remaining %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// Appends `true` or `false`.
    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends `null`.
    public mutating func null() {
        raw("null")
    }
}

import ASCII

/// Appends JSON text to a byte buffer without building intermediate values.
///
/// The caller is responsible for the structure (commas, brackets); the writer
/// guarantees that every string it emits is correctly escaped.
///
/// A response is thousands of small appends, so they are `@inlinable` and copy straight into
/// a buffer grown ahead (`storage`, of which the first `count` bytes are written): in the
/// renderer each is a capacity check and a `memcpy`, not a call into this module and through
/// `Array.append(contentsOf:)`'s generic path.
@frozen
public struct JSONWriter {
    /// The bytes written (the first `count`) and room for more (zeros).
    @usableFromInline var storage: [UInt8]
    /// How many bytes of `storage` are written.
    @usableFromInline var count: Int

    /// The JSON text written so far.
    public var bytes: [UInt8] { count == storage.count ? storage : Array(storage[..<count]) }

    /// Creates a writer whose buffer has room for `capacity` bytes.
    @inlinable
    public init(capacity: Int = 256) {
        storage = [UInt8](repeating: 0, count: max(capacity, 16))
        count = 0
    }

    /// Makes room for `additional` more bytes.
    @inlinable @inline(__always)
    mutating func reserve(_ additional: Int) {
        if count &+ additional > storage.count { grow(toHold: count + additional) }
    }

    @usableFromInline
    mutating func grow(toHold minimum: Int) {
        storage.append(contentsOf: repeatElement(0, count: max(minimum, storage.count * 2) - storage.count))
    }

    /// Copies `length` bytes from `source` (room already made).
    @inlinable @inline(__always)
    mutating func put(_ source: UnsafeRawPointer, _ length: Int) {
        let offset = count
        storage.withUnsafeMutableBytes { ($0.baseAddress! + offset).copyMemory(from: source, byteCount: length) }
        count = offset &+ length
    }

    @inlinable
    mutating func put(_ byte: UInt8) {
        reserve(1)
        let offset = count
        storage.withUnsafeMutableBufferPointer { $0[offset] = byte }
        count = offset &+ 1
    }

    /// Appends structural ASCII text verbatim, e.g. `{"id":`.
    @inlinable @inline(__always)
    public mutating func raw(_ text: StaticString) {
        reserve(text.utf8CodeUnitCount)
        put(text.utf8Start, text.utf8CodeUnitCount)
    }

    /// Appends `json`, already valid JSON this service wrote itself, unchanged.
    @inlinable
    public mutating func raw(utf8 json: UnsafeBufferPointer<UInt8>) {
        guard let start = json.baseAddress else { return }
        reserve(json.count)
        put(start, json.count)
    }

    /// Appends a JSON string literal with quotes and escapes.
    @inlinable
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { appendEscaped($0) }
    }

    /// Appends raw UTF-8 bytes (already known to be valid UTF-8) as a JSON string literal with quotes and escapes.
    @inlinable
    public mutating func string(utf8 value: UnsafeBufferPointer<UInt8>) {
        appendEscaped(value)
    }

    /// Appends a string literal of at most `maximumBytes` bytes that `fill` writes directly into
    /// the buffer it gets (that many bytes long), returning how many it wrote; the caller
    /// guarantees they need no escaping (e.g. a timestamp made of digits and punctuation).
    @inlinable
    public mutating func unescapedString(maximumBytes: Int, _ fill: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        reserve(maximumBytes + 2)
        let offset = count
        let written = storage.withUnsafeMutableBufferPointer { buffer in
            buffer[offset] = UInt8(ascii: "\"")
            let written = fill(UnsafeMutableBufferPointer(rebasing: buffer[(offset + 1)..<(offset + 1 + maximumBytes)]))
            buffer[offset + 1 + written] = UInt8(ascii: "\"")
            return written
        }
        count = offset + written + 2
    }

    /// The string literal of `utf8`: unescaped runs are copied whole, so a string without
    /// characters to escape (nearly all) is one check per byte and one copy.
    @inlinable
    mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        put(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<utf8.count {
            let byte = utf8[index]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            if runStart < index { raw(utf8: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
            runStart = index + 1
            appendEscape(byte)
        }
        if runStart < utf8.count { raw(utf8: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        put(UInt8(ascii: "\""))
    }

    /// The escape sequence of one byte that JSON does not allow in a string as is.
    @usableFromInline
    mutating func appendEscape(_ byte: UInt8) {
        put(UInt8(ascii: "\\"))
        switch byte {
        case 0x22: put(0x22)
        case 0x5C: put(0x5C)
        case 0x0A: put(UInt8(ascii: "n"))
        case 0x0D: put(UInt8(ascii: "r"))
        case 0x09: put(UInt8(ascii: "t"))
        case 0x08: put(UInt8(ascii: "b"))
        case 0x0C: put(UInt8(ascii: "f"))
        default:
            let hex = ASCIIHex.lowercase
            for digit in [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]] { put(digit) }
        }
    }

    /// Appends a decimal integer.
    @inlinable
    public mutating func integer(_ value: Int64) {
        // 20 digits and a sign at most, written backwards into a stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var remaining = value.magnitude
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
                remaining /= 10
            } while remaining > 0
            if value < 0 { put(UInt8(ascii: "-")) }
            reserve(20 - start)
            put(digits.baseAddress! + start, 20 - start)
        }
    }

    /// Appends `true` or `false`.
    @inlinable
    public mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// Appends `null`.
    @inlinable
    public mutating func null() {
        raw("null")
    }
}

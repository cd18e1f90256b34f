/// Rows in PostgreSQL's COPY text format: fields separated by tabs, rows ended by newlines,
/// NULL as `\N`, and backslash, tab, newline and carriage return escaped.
public struct PostgresCopyText {
    /// The rows written so far.
    public private(set) var bytes: [UInt8] = []
    private var fieldsInRow = 0

    /// An empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 1 << 16) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends one field (nil: NULL).
    public mutating func field(_ text: String?) {
        guard var text else { return field(nil as UnsafeBufferPointer<UInt8>?) }
        text.withUTF8 { field($0) }
    }

    /// Appends one field of UTF-8 text (nil: NULL).
    public mutating func field(_ utf8: UnsafeBufferPointer<UInt8>?) {
        separate()
        guard let utf8 else {
            bytes.append(contentsOf: [0x5C, 0x4E])  // \N
            return
        }
        // Plain bytes go over in runs; only the four escaped ones need a look.
        var run = 0
        for (index, byte) in utf8.enumerated() {
            let escape: UInt8
            switch byte {
            case 0x5C: escape = 0x5C
            case 0x09: escape = 0x74
            case 0x0A: escape = 0x6E
            case 0x0D: escape = 0x72
            default: continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run..<index]))
            bytes.append(0x5C)
            bytes.append(escape)
            run = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[run...]))
    }

    /// Appends one integer field (nil: NULL).
    public mutating func field(_ number: Int64?) {
        guard let number else { return field(nil as String?) }
        separate()
        bytes.append(contentsOf: String(number).utf8)
    }

    /// Appends one boolean field.
    public mutating func field(_ flag: Bool) {
        separate()
        bytes.append(flag ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        fieldsInRow = 0
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        fieldsInRow = 0
    }

    private mutating func separate() {
        if fieldsInRow > 0 { bytes.append(0x09) }
        fieldsInRow += 1
    }
}

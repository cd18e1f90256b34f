import ASCII

/// An element of a parsed document: its expanded name (namespace URI and local name), its
/// attributes, its child elements and its character data, in order.
public struct XMLElement: Equatable, Sendable {
    /// The namespace URI (`DAV:`, `urn:ietf:params:xml:ns:caldav`); empty for none.
    public var namespace: String
    /// The local name, without prefix.
    public var name: String
    /// The attributes: namespace (empty for unprefixed ones), local name, value.
    public var attributes: [XMLAttribute]
    /// The child elements, in document order.
    public var children: [XMLElement]
    /// The character data directly inside this element, concatenated (references resolved,
    /// CDATA included).
    public var text: String

    /// An element named `name` in `namespace`.
    public init(namespace: String, name: String, attributes: [XMLAttribute] = [], children: [XMLElement] = [], text: String = "") {
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// Whether this element is `name` in `namespace`.
    public func `is`(_ namespace: String, _ name: String) -> Bool { self.namespace == namespace && self.name == name }

    /// The first child that is `name` in `namespace`.
    public func child(_ namespace: String, _ name: String) -> XMLElement? { children.first { $0.is(namespace, name) } }

    /// Every child that is `name` in `namespace`.
    public func children(_ namespace: String, _ name: String) -> [XMLElement] { children.filter { $0.is(namespace, name) } }

    /// The value of the unprefixed attribute `name`.
    public func attribute(_ name: String) -> String? { attributes.first { $0.namespace.isEmpty && $0.name == name }?.value }
}

/// One attribute of an element.
public struct XMLAttribute: Equatable, Sendable {
    /// The namespace URI; empty for an unprefixed attribute.
    public var namespace: String
    /// The local name.
    public var name: String
    /// The value, references resolved.
    public var value: String

    /// An attribute `name` in `namespace` with `value`.
    public init(namespace: String, name: String, value: String) {
        self.namespace = namespace
        self.name = name
        self.value = value
    }
}

/// Character data and attribute values written into XML.
public enum XMLEscaping {
    /// `text` with `&`, `<`, `>` and both quotes written as references: safe in content and in
    /// attribute values of either quote.
    public static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: isSpecial) else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 16)
        append(text.utf8, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `bytes` (UTF-8) to `output`, escaped as `escape` does: the runs between special
    /// bytes in one copy each, as a report writes many calendar objects and hrefs.
    public static func append(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var start = 0
        while let special = firstSpecial(in: bytes, from: start) {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<special]))
            output.append(fixed: reference(of: bytes[special]))
            start = special + 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
    }

    /// `append` for any sequence of bytes (an array, a string's UTF-8).
    public static func append(_ bytes: some Sequence<UInt8>, to output: inout [UInt8]) {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { append($0, to: &output) }
        if copied == nil { Array(bytes).withUnsafeBufferPointer { append($0, to: &output) } }
    }

    /// Escapes, in place, what was appended to `output` from `start` on: nothing moves when it
    /// holds no special byte, so a writer can write straight into the document and escape after.
    public static func escapeAppended(_ output: inout [UInt8], from start: Int) {
        guard let first = output.withUnsafeBufferPointer({ firstSpecial(in: $0, from: start) }) else { return }
        let tail = Array(output[first...])
        output.removeSubrange(first...)
        tail.withUnsafeBufferPointer { append($0, to: &output) }
    }

    /// The index of the first special byte of `bytes` from `start` on: eight bytes a step as
    /// one word (a calendar object is mostly free of them), then byte by byte in the word that
    /// has one.
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= bytes.count, !mayHoldSpecial(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                index += 8
            }
        }
        while index < bytes.count {
            if isSpecial(bytes[index]) { return index }
            index += 1
        }
        return nil
    }

    /// Whether one of the eight bytes of `word` may be special: exact when none is, the
    /// classic test for a zero byte applied to the word XOR each special byte repeated.
    @inline(__always)
    private static func mayHoldSpecial(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func hasByte(_ byte: UInt64) -> UInt64 {
            let difference = word ^ (ones &* byte)
            return (difference &- ones) & ~difference & highs
        }
        return hasByte(0x26) | hasByte(0x3C) | hasByte(0x3E) | hasByte(0x22) | hasByte(0x27) != 0
    }

    /// Whether `byte` is written as a reference. The special bytes (`"&'<>`, all below 64) are
    /// bits of one word: a test per byte, no branch per character.
    @inline(__always)
    static func isSpecial(_ byte: UInt8) -> Bool {
        let specialBits: UInt64 = 1 << 0x22 | 1 << 0x26 | 1 << 0x27 | 1 << 0x3C | 1 << 0x3E
        return byte < 64 && specialBits & (1 << UInt64(byte)) != 0
    }

    /// The reference of one special byte.
    private static func reference(of byte: UInt8) -> StaticString {
        switch byte {
        case 0x26: return "&amp;"
        case 0x3C: return "&lt;"
        case 0x3E: return "&gt;"
        case 0x22: return "&quot;"
        default: return "&apos;"
        }
    }
}

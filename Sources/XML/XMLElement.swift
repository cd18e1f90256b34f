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
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 16)
        append(text.utf8, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `bytes` (UTF-8) to `output`, escaped as `escape` does: byte by byte, for large
    /// texts (a calendar object inside a report).
    public static func append(_ bytes: [UInt8], to output: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            for index in 0..<buffer.count where isSpecial(buffer[index]) {
                output.append(contentsOf: buffer[start..<index])
                appendReference(buffer[index], to: &output)
                start = index + 1
            }
            output.append(contentsOf: buffer[start...])
        }
    }

    /// Whether `byte` is written as a reference.
    @inlinable
    static func isSpecial(_ byte: UInt8) -> Bool { byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 }

    /// The reference of one special byte.
    @inlinable
    static func appendReference(_ byte: UInt8, to output: inout [UInt8]) {
        append(CollectionOfOne(byte), to: &output)
    }

    /// `append` for any sequence of bytes (a string's UTF-8).
    @inlinable
    public static func append(_ bytes: some Sequence<UInt8>, to output: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case 0x26: output.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
            case 0x3C: output.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
            case 0x3E: output.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
            case 0x22: output.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
            case 0x27: output.append(contentsOf: [0x26, 0x61, 0x70, 0x6F, 0x73, 0x3B])  // &apos;
            default: output.append(byte)
            }
        }
    }
}

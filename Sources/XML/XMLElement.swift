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
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var output = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            default: output.unicodeScalars.append(character)
            }
        }
        return output
    }
}

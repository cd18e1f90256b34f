/// A small XML reader for WebDAV and CalDAV bodies (PROPFIND, REPORT, PROPPATCH): elements,
/// attributes, namespaces, character data, CDATA, comments and processing instructions.
/// Safe by construction: it has no code for DTDs at all (a `<!DOCTYPE` is refused), so there
/// is nothing to expand and nothing to fetch; only the five predefined entities and character
/// references are known; depth, element and attribute counts are capped. The caller caps the
/// body's size.
public struct XMLReader {
    /// The deepest element nesting accepted (CalDAV's deepest filters need about 8).
    public static let maximumDepth = 32
    /// The most elements accepted in one document (a multiget of 1,000 hrefs is about 1,010).
    public static let maximumElements = 20_000
    /// The most attributes on one element.
    public static let maximumAttributes = 64

    /// The namespace the `xml` prefix is bound to in every document.
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    private let bytes: [UInt8]
    private var index = 0
    private var elements = 0
    private var scopes: [[String: String]] = [["xml": XMLReader.xmlNamespace]]

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The root element of `bytes`, a UTF-8 document.
    public static func read(_ bytes: [UInt8]) throws(XMLError) -> XMLElement {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .notUTF8 }
        var reader = XMLReader(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        try reader.skipMisc(allowDeclaration: true)
        guard reader.peek(0) == UInt8(ascii: "<") else { throw .malformed(offset: reader.index) }
        let root = try reader.element(depth: 1)
        try reader.skipMisc(allowDeclaration: false)
        guard reader.index == bytes.count else { throw .malformed(offset: reader.index) }
        return root
    }

    // MARK: - Bytes

    private func peek(_ offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private func looking(at text: String) -> Bool {
        let utf8 = text.utf8
        return bytes.count - index >= utf8.count && bytes[index..<(index + utf8.count)].elementsEqual(utf8)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    private mutating func skipSpaces() {
        while let byte = peek(0), Self.isSpace(byte) { index += 1 }
    }

    /// Moves past the next `terminator`, returning what came before it.
    private mutating func take(until terminator: String) throws(XMLError) -> ArraySlice<UInt8> {
        let start = index
        while index < bytes.count {
            if looking(at: terminator) {
                let found = bytes[start..<index]
                index += terminator.utf8.count
                return found
            }
            index += 1
        }
        throw .malformed(offset: start)
    }

    // MARK: - Structure

    /// Spaces, comments and processing instructions (the XML declaration only where allowed);
    /// a document type declaration is refused here and everywhere else.
    private mutating func skipMisc(allowDeclaration: Bool) throws(XMLError) {
        while true {
            skipSpaces()
            if looking(at: "<?xml"), let after = peek(5), Self.isSpace(after) || after == UInt8(ascii: "?") {
                guard allowDeclaration, index <= 3 else { throw .malformed(offset: index) }
                let declaration = Array(String(decoding: try take(until: "?>"), as: UTF8.self).lowercased().utf8)
                let key = Array("encoding".utf8)
                if let start = declaration.indices.first(where: { declaration[$0...].starts(with: key) }) {
                    let rest = declaration[(start + key.count)...].drop { $0 == 0x20 || $0 == 0x3D || $0 == 0x22 || $0 == 0x27 }
                    guard rest.starts(with: "utf-8".utf8) || rest.starts(with: "utf8".utf8) else { throw .notUTF8 }
                }
            } else if try !skipMarkup() {
                return
            }
        }
    }

    /// Moves past a comment or a processing instruction at `index` and says so; false for
    /// anything else. A document type declaration, or any other `<!`, is refused here: the one
    /// place that meets them, in the prolog and in content alike.
    private mutating func skipMarkup() throws(XMLError) -> Bool {
        if looking(at: "<!--") {
            index += 4
            _ = try take(until: "-->")
        } else if looking(at: "<?") {
            _ = try take(until: "?>")
        } else if looking(at: "<!DOCTYPE") || looking(at: "<!doctype") {
            throw .documentTypeDeclaration
        } else if looking(at: "<!") {
            throw .malformed(offset: index)
        } else {
            return false
        }
        return true
    }

    /// A name: letters, digits, `_ - . :` and any non-ASCII byte, not starting with a digit, `-` or `.`.
    private mutating func name() throws(XMLError) -> String {
        let start = index
        while let byte = peek(0), Self.isNameByte(byte) { index += 1 }
        guard index > start else { throw .malformed(offset: start) }
        let first = bytes[start]
        guard !(first >= 0x30 && first <= 0x39), first != UInt8(ascii: "-"), first != UInt8(ascii: ".") else {
            throw .malformed(offset: start)
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            || byte >= 0x80
    }

    /// An element at `<`, with everything inside it.
    private mutating func element(depth: Int) throws(XMLError) -> XMLElement {
        guard depth <= Self.maximumDepth else { throw .nestingTooDeep }
        elements += 1
        guard elements <= Self.maximumElements else { throw .tooManyNodes }
        index += 1
        let qualifiedName = try name()
        var rawAttributes: [(name: String, value: String)] = []
        while true {
            let hadSpace = peek(0).map(Self.isSpace) ?? false
            skipSpaces()
            if peek(0) == UInt8(ascii: "/") || peek(0) == UInt8(ascii: ">") { break }
            guard hadSpace else { throw .malformed(offset: index) }
            let attributeName = try name()
            skipSpaces()
            guard peek(0) == UInt8(ascii: "=") else { throw .malformed(offset: index) }
            index += 1
            skipSpaces()
            let value = try attributeValue()
            guard !rawAttributes.contains(where: { $0.name == attributeName }) else { throw .malformed(offset: index) }
            rawAttributes.append((attributeName, value))
            guard rawAttributes.count <= Self.maximumAttributes else { throw .tooManyNodes }
        }
        var scope = scopes[scopes.count - 1]
        for attribute in rawAttributes {
            if attribute.name == "xmlns" { scope[""] = attribute.value }
            if attribute.name.hasPrefix("xmlns:") {
                let prefix = String(attribute.name.dropFirst(6))
                guard !prefix.isEmpty, !attribute.value.isEmpty else { throw .malformed(offset: index) }
                scope[prefix] = attribute.value
            }
        }
        scopes.append(scope)
        defer { scopes.removeLast() }
        let (namespace, localName) = try resolve(qualifiedName, isAttribute: false)
        var element = XMLElement(namespace: namespace, name: localName)
        for attribute in rawAttributes where attribute.name != "xmlns" && !attribute.name.hasPrefix("xmlns:") {
            let (attributeNamespace, attributeLocal) = try resolve(attribute.name, isAttribute: true)
            element.attributes.append(XMLAttribute(namespace: attributeNamespace, name: attributeLocal, value: attribute.value))
        }
        if looking(at: "/>") {
            index += 2
            return element
        }
        index += 1
        try content(of: &element, qualifiedName: qualifiedName, depth: depth)
        return element
    }

    /// The content up to and including the end tag of `qualifiedName`.
    private mutating func content(of element: inout XMLElement, qualifiedName: String, depth: Int) throws(XMLError) {
        var text: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                if looking(at: "</") {
                    index += 2
                    guard try name() == qualifiedName else { throw .malformed(offset: index) }
                    skipSpaces()
                    guard peek(0) == UInt8(ascii: ">") else { throw .malformed(offset: index) }
                    index += 1
                    element.text = String(decoding: text, as: UTF8.self)
                    return
                } else if looking(at: "<![CDATA[") {
                    index += 9
                    text += try take(until: "]]>")
                } else if try !skipMarkup() {
                    element.children.append(try self.element(depth: depth + 1))
                }
            } else if byte == UInt8(ascii: "&") {
                text += Array(try reference().utf8)
            } else {
                text.append(byte)
                index += 1
            }
        }
        throw .malformed(offset: index)
    }

    /// A quoted attribute value, references resolved; `<` is not allowed in it.
    private mutating func attributeValue() throws(XMLError) -> String {
        guard let quote = peek(0), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw .malformed(offset: index) }
        index += 1
        var value: [UInt8] = []
        while let byte = peek(0), byte != quote {
            if byte == UInt8(ascii: "<") { throw .malformed(offset: index) }
            if byte == UInt8(ascii: "&") {
                value += Array(try reference().utf8)
            } else {
                value.append(byte)
                index += 1
            }
        }
        guard peek(0) == quote else { throw .malformed(offset: index) }
        index += 1
        return String(decoding: value, as: UTF8.self)
    }

    /// A reference at `&`: one of the five predefined entities or a character reference.
    private mutating func reference() throws(XMLError) -> String {
        let start = index
        index += 1
        guard let end = bytes[index..<min(bytes.count, index + 12)].firstIndex(of: UInt8(ascii: ";")) else {
            throw .malformed(offset: start)
        }
        let name = String(decoding: bytes[index..<end], as: UTF8.self)
        index = end + 1
        switch name {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "apos": return "'"
        case "quot": return "\""
        default: break
        }
        guard name.hasPrefix("#") else { throw .undefinedEntity }
        let digits = name.dropFirst()
        let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
        guard let value, value != 0, !digits.isEmpty, digits.first != "+", digits.first != "-",
              let scalar = Unicode.Scalar(value) else { throw .malformed(offset: start) }
        return String(Character(scalar))
    }

    /// The namespace and local name of a qualified name in the current scope.
    private func resolve(_ qualifiedName: String, isAttribute: Bool) throws(XMLError) -> (String, String) {
        let parts = qualifiedName.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (isAttribute ? "" : scopes[scopes.count - 1][""] ?? "", qualifiedName)
        case 2:
            guard !parts[0].isEmpty, !parts[1].isEmpty else { throw .malformed(offset: index) }
            guard let namespace = scopes[scopes.count - 1][String(parts[0])] else { throw .unboundPrefix }
            return (namespace, String(parts[1]))
        default: throw .malformed(offset: index)
        }
    }
}

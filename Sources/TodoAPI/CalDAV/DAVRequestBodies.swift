import XML

/// Which properties a PROPFIND or REPORT asks for.
enum DAVPropertyRequest: Equatable {
    /// `allprop`, or no body: every property the resource has but `calendar-data`.
    case all
    /// `propname`: the names only.
    case names
    /// `prop`: these.
    case some([DAVPropertyName])
}

/// A REPORT's request (RFC 4791 §7.8, §7.9; RFC 6578 §3.2).
enum DAVReport {
    case calendarQuery(DAVPropertyRequest, filter: XMLElement?)
    case calendarMultiget(DAVPropertyRequest, hrefs: [String])
    case syncCollection(DAVPropertyRequest, token: String, limit: Int?)
}

/// Reads the XML bodies of `/dav/` requests: never more than 64 KiB, never a DTD (`XMLReader`).
enum DAVRequestBodies {
    /// The parsed body, nil when there is none.
    static func document(_ request: HTTPRequest) throws(DAVError) -> XMLElement? {
        if request.bodyExceededLimit { throw DAVError.tooLarge }
        guard !request.body.isEmpty else { return nil }
        do {
            return try XMLReader.read(request.body)
        } catch {
            switch error {
            case .documentTypeDeclaration:
                throw DAVError.badRequest("XML with a document type declaration (DTD, entities) is not accepted.")
            case .undefinedEntity:
                throw DAVError.badRequest("XML entities other than the five predefined ones are not accepted.")
            case .nestingTooDeep:
                throw DAVError.badRequest("The XML nests deeper than \(XMLReader.maximumDepth) elements.")
            case .tooManyNodes:
                throw DAVError.badRequest("The XML has too many elements or attributes.")
            case .notUTF8:
                throw DAVError.badRequest("The XML body must be UTF-8.")
            case .unboundPrefix:
                throw DAVError.badRequest("The XML uses a namespace prefix it does not declare.")
            case .malformed(let offset):
                throw DAVError.badRequest("The XML body is not well-formed (at byte \(offset)).")
            }
        }
    }

    /// A PROPFIND's request: no body is `allprop`.
    static func propfind(_ root: XMLElement?) throws(DAVError) -> DAVPropertyRequest {
        guard let root else { return .all }
        guard root.is(DAVNamespace.dav, "propfind") else { throw DAVError.badRequest("A PROPFIND body is a DAV:propfind element.") }
        return properties(in: root)
    }

    /// The `prop`, `allprop` or `propname` child of `element` (`allprop` when there is none).
    static func properties(in element: XMLElement) -> DAVPropertyRequest {
        if let prop = element.child(DAVNamespace.dav, "prop") { return .some(prop.children.map(DAVPropertyName.init)) }
        if element.child(DAVNamespace.dav, "propname") != nil { return .names }
        return .all
    }

    /// A REPORT's request; an unknown report is 403 `DAV:supported-report` (RFC 3253 §3.6).
    static func report(_ root: XMLElement?) throws(DAVError) -> DAVReport {
        guard let root else { throw DAVError.badRequest("A REPORT needs a body.") }
        if root.is(DAVNamespace.calDAV, "calendar-query") {
            return .calendarQuery(properties(in: root), filter: root.child(DAVNamespace.calDAV, "filter"))
        }
        if root.is(DAVNamespace.calDAV, "calendar-multiget") {
            return .calendarMultiget(properties(in: root), hrefs: root.children(DAVNamespace.dav, "href").map { $0.text.trimmedXMLSpaces })
        }
        if root.is(DAVNamespace.dav, "sync-collection") {
            let token = root.child(DAVNamespace.dav, "sync-token")?.text.trimmedXMLSpaces ?? ""
            var limit: Int?
            if let results = root.child(DAVNamespace.dav, "limit")?.child(DAVNamespace.dav, "nresults") {
                guard let number = Int(results.text.trimmedXMLSpaces), number >= 1 else {
                    throw DAVError.badRequest("DAV:nresults must be a positive integer.")
                }
                limit = number
            }
            return .syncCollection(properties(in: root), token: token, limit: limit)
        }
        throw DAVError.forbidden("<D:supported-report/>", "Only calendar-query, calendar-multiget and sync-collection are supported.",
                                 code: "unsupported_report")
    }

    /// The properties a PROPPATCH names (to refuse each: nothing is stored).
    static func proppatch(_ root: XMLElement?) throws(DAVError) -> [DAVPropertyName] {
        guard let root, root.is(DAVNamespace.dav, "propertyupdate") else {
            throw DAVError.badRequest("A PROPPATCH body is a DAV:propertyupdate element.")
        }
        return root.children.filter { $0.is(DAVNamespace.dav, "set") || $0.is(DAVNamespace.dav, "remove") }
            .flatMap { $0.child(DAVNamespace.dav, "prop")?.children ?? [] }.map(DAVPropertyName.init)
    }
}

extension String {
    /// Without leading and trailing XML white space (space, tab, CR, LF).
    var trimmedXMLSpaces: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}

import XML

/// The XML namespaces CalDAV clients speak, with the prefixes this server writes them under.
enum DAVNamespace {
    static let dav = "DAV:"
    static let calDAV = "urn:ietf:params:xml:ns:caldav"
    static let calendarServer = "http://calendarserver.org/ns/"
    static let apple = "http://apple.com/ns/ical/"
    /// This server's own elements (the detail of an error).
    static let todo = "urn:todo-fcgi"

    /// The prefix each known namespace is written with, declared once on the root element.
    static let prefixes: [(prefix: String, namespace: String)] = [("D", dav), ("C", calDAV), ("CS", calendarServer), ("A", apple), ("T", todo)]

    /// The `xmlns` attributes of the root element of every body this server writes.
    static let declarations = prefixes.map { " xmlns:\($0.prefix)=\"\($0.namespace)\"" }.joined()
}

/// A property's expanded name.
struct DAVPropertyName: Hashable, Sendable {
    let namespace: String
    let name: String
    /// The element's name as written, and a declaration for a namespace the root does not
    /// declare: made once, as a report writes each property once per task.
    private let qualified: (name: String, declaration: String)

    init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
        qualified = Self.qualified(namespace, name)
    }

    static func == (left: Self, right: Self) -> Bool { left.namespace == right.namespace && left.name == right.name }

    func hash(into hasher: inout Hasher) {
        hasher.combine(namespace)
        hasher.combine(name)
    }

    init(_ element: XMLElement) {
        self.init(element.namespace, element.name)
    }

    /// Appends an element of this name holding what `content` appends (XML), or an empty
    /// element when it appends nothing; returns what `content` returns (false: the element is
    /// taken back out, as the resource has no such property).
    func write(to output: inout [UInt8], _ content: (inout [UInt8]) -> Bool) -> Bool {
        let start = output.count
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: qualified.name.utf8)
        output.append(contentsOf: qualified.declaration.utf8)
        output.append(UInt8(ascii: ">"))
        let contentStart = output.count
        guard content(&output) else {
            output.removeSubrange(start...)
            return false
        }
        guard output.count > contentStart else {
            output.removeLast()
            output.append(contentsOf: "/>".utf8)
            return true
        }
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: qualified.name.utf8)
        output.append(UInt8(ascii: ">"))
        return true
    }

    /// Appends an empty element of this name (a property named in a 404 or 403 propstat).
    func writeEmpty(to output: inout [UInt8]) {
        _ = write(to: &output) { _ in true }
    }

    /// The prefixed name, and a declaration for a namespace the root does not declare.
    private static func qualified(_ namespace: String, _ name: String) -> (String, String) {
        if namespace == DAVNamespace.dav { return ("D:" + name, "") }
        if let known = DAVNamespace.prefixes.first(where: { $0.namespace == namespace }) { return ("\(known.prefix):\(name)", "") }
        if namespace.isEmpty { return (name, " xmlns=\"\"") }
        return ("X:\(name)", " xmlns:X=\"\(XMLEscaping.escape(namespace))\"")
    }

    static let resourceType = DAVPropertyName(DAVNamespace.dav, "resourcetype")
    static let displayName = DAVPropertyName(DAVNamespace.dav, "displayname")
    static let currentUserPrincipal = DAVPropertyName(DAVNamespace.dav, "current-user-principal")
    static let principalURL = DAVPropertyName(DAVNamespace.dav, "principal-URL")
    static let owner = DAVPropertyName(DAVNamespace.dav, "owner")
    static let syncToken = DAVPropertyName(DAVNamespace.dav, "sync-token")
    static let supportedReportSet = DAVPropertyName(DAVNamespace.dav, "supported-report-set")
    static let currentUserPrivilegeSet = DAVPropertyName(DAVNamespace.dav, "current-user-privilege-set")
    static let getETag = DAVPropertyName(DAVNamespace.dav, "getetag")
    static let getContentType = DAVPropertyName(DAVNamespace.dav, "getcontenttype")
    static let getContentLength = DAVPropertyName(DAVNamespace.dav, "getcontentlength")
    static let getLastModified = DAVPropertyName(DAVNamespace.dav, "getlastmodified")
    static let calendarHomeSet = DAVPropertyName(DAVNamespace.calDAV, "calendar-home-set")
    static let supportedComponents = DAVPropertyName(DAVNamespace.calDAV, "supported-calendar-component-set")
    static let supportedCalendarData = DAVPropertyName(DAVNamespace.calDAV, "supported-calendar-data")
    static let maxResourceSize = DAVPropertyName(DAVNamespace.calDAV, "max-resource-size")
    static let calendarData = DAVPropertyName(DAVNamespace.calDAV, "calendar-data")
    static let getCTag = DAVPropertyName(DAVNamespace.calendarServer, "getctag")
}

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

    init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    init(_ element: XMLElement) {
        self.init(element.namespace, element.name)
    }

    /// Appends an element of this name holding `value`, or empty when it is empty.
    func write(_ value: DAVValue, to output: inout [UInt8]) {
        let (open, declaration) = qualified
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: open.utf8)
        output.append(contentsOf: declaration.utf8)
        switch value {
        case .xml(let content) where content.isEmpty:
            output.append(contentsOf: "/>".utf8)
            return
        case .xml(let content):
            output.append(UInt8(ascii: ">"))
            output.append(contentsOf: content.utf8)
        case .text(let text):
            output.append(UInt8(ascii: ">"))
            XMLEscaping.append(text, to: &output)
        }
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: open.utf8)
        output.append(UInt8(ascii: ">"))
    }

    /// The prefixed name, and a declaration for a namespace the root does not declare.
    private var qualified: (String, String) {
        // DAV: first, without a search: nearly every property is one.
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

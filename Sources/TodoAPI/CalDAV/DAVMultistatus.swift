import XML

/// A `207 Multi-Status` body (RFC 4918 §13): one `response` per resource, each with its found
/// properties (200) and the ones asked for that it has not (404).
struct DAVMultistatus {
    private var body: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus\(DAVNamespace.declarations)>".utf8)
    /// The `sync-token` closing a `sync-collection` report.
    var syncToken: String?

    private mutating func write(_ text: String) { body.append(contentsOf: text.utf8) }

    /// Opens a `response` for `href`.
    private mutating func open(_ href: String) {
        write("<D:response><D:href>")
        XMLEscaping.append(href.utf8, to: &body)
        write("</D:href>")
    }

    /// A resource's properties: `found` in order, `missing` as 404.
    mutating func add(href: String, found: [(DAVPropertyName, DAVValue)], missing: [DAVPropertyName]) {
        open(href)
        if !found.isEmpty {
            write("<D:propstat><D:prop>")
            for (name, value) in found { name.write(value, to: &body) }
            write("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
        }
        if !missing.isEmpty {
            write("<D:propstat><D:prop>")
            for name in missing { name.write(.xml(""), to: &body) }
            write("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
        }
        write("</D:response>")
    }

    /// A PROPPATCH's answer: each property it names refused with 403 (RFC 4918 §9.2.1), as
    /// protected: nothing is stored.
    mutating func add(href: String, refused: [DAVPropertyName]) {
        open(href)
        write("<D:propstat><D:prop>")
        for name in refused { name.write(.xml(""), to: &body) }
        write("</D:prop><D:status>HTTP/1.1 403 Forbidden</D:status><D:error><D:cannot-modify-protected-property/></D:error>")
        write("</D:propstat></D:response>")
    }

    /// A resource answered by a status alone (a deleted or unknown one: 404), with an optional
    /// `error` element (raw XML).
    mutating func add(href: String, status: String, error: String? = nil) {
        open(href)
        write("<D:status>HTTP/1.1 \(status)</D:status>")
        if let error { write("<D:error>\(error)</D:error>") }
        write("</D:response>")
    }

    /// The response to send: 207 with the XML body.
    var response: HTTPResponse {
        var bytes = body
        if let syncToken {
            bytes.append(contentsOf: "<D:sync-token>".utf8)
            XMLEscaping.append(syncToken.utf8, to: &bytes)
            bytes.append(contentsOf: "</D:sync-token>".utf8)
        }
        bytes.append(contentsOf: "</D:multistatus>\n".utf8)
        var response = HTTPResponse(status: 207, body: bytes)
        response.contentType = DAVResponse.xmlContentType
        return response
    }
}

/// A property's value: raw XML, or text (a calendar object) escaped as it is written.
enum DAVValue {
    case xml(String)
    case text([UInt8])
}

/// Answers on `/dav/` other than a multistatus.
enum DAVResponse {
    /// The media type of every XML body this server writes.
    static let xmlContentType = "application/xml; charset=utf-8"
    /// The media type of a calendar object (Addendum v2.2 §14.1).
    static let calendarContentType = "text/calendar; charset=utf-8; component=VTODO"
    /// The `DAV` header: classes 1 and 3, and CalDAV.
    static let davHeader = (name: "DAV", value: "1, 3, calendar-access")

    /// An error with the XML body RFC 4918 §16 gives: `DAV:error` holding the precondition
    /// element (raw XML, e.g. `<C:valid-calendar-data/>`) when there is one, and this server's
    /// code and detail.
    static func error(status: Int, code: String, detail: String, precondition: String? = nil,
                      headers: [(name: String, value: String)] = []) -> HTTPResponse {
        let text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error\(DAVNamespace.declarations)>" + (precondition ?? "")
            + "<T:code>\(XMLEscaping.escape(code))</T:code><T:detail>\(XMLEscaping.escape(detail))</T:detail></D:error>\n"
        var response = HTTPResponse(status: status, headers: headers, body: Array(text.utf8))
        response.contentType = xmlContentType
        return response
    }
}

extension APIError {
    /// This error as `/dav/` answers it: the same status and headers, an XML body.
    var davResponse: HTTPResponse {
        DAVResponse.error(status: status, code: code, detail: detail, headers: headers.map { ($0.name, $0.value) })
    }
}

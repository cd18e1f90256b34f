import ASCII
import XML

/// A `207 Multi-Status` body (RFC 4918 §13): one `response` per resource, each with its found
/// properties (200) and the ones asked for that it has not (404).
struct DAVMultistatus {
    private var body: [UInt8] = Array("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus\(DAVNamespace.declarations)>".utf8)

    /// A multistatus; `listingCollection` when it will name a collection's members, whose body
    /// is reserved at once at the size of a hundred tasks with their calendar text: one
    /// allocation instead of a doubling series, the large ones of which glibc maps and unmaps.
    init(listingCollection: Bool = false) {
        if listingCollection { body.reserveCapacity(Self.collectionCapacity) }
    }

    /// What a report over a collection reserves: about a hundred objects with their text.
    static let collectionCapacity = 128 * 1024
    /// The `sync-token` closing a `sync-collection` report.
    var syncToken: String?

    private mutating func write(_ text: String) { body.append(contentsOf: text.utf8) }

    /// Appends fixed markup (a report writes a few per task).
    private mutating func write(fixed text: StaticString) { body.append(fixed: text) }

    /// Opens a `response` for `href`.
    private mutating func open(_ href: DAVResponseHref) {
        write(fixed: "<D:response><D:href>")
        switch href {
        case .path(let path):
            XMLEscaping.append(path.utf8, to: &body)
        case .object(let calendarHref, let name):
            // Written in place, then escaped there: a report names every task.
            let start = body.count
            body.append(contentsOf: calendarHref.utf8)
            DAVHref.appendSegment(name, to: &body)
            XMLEscaping.escapeAppended(&body, from: start)
        }
        write(fixed: "</D:href>")
    }

    /// A resource's properties: each of `names` that `value` has (it appends the value as XML
    /// and returns true) in the 200 propstat, in order; the others, with `listingMissing`, as
    /// 404. Values go straight into the body: a report writes thousands.
    mutating func add(href: DAVResponseHref, properties names: [DAVPropertyName], listingMissing: Bool,
                      _ value: (DAVPropertyName, inout [UInt8]) -> Bool) {
        open(href)
        var missing: [DAVPropertyName] = []
        let propstatStart = body.count
        write(fixed: "<D:propstat><D:prop>")
        let propertiesStart = body.count
        for name in names where !name.write(to: &body, { value(name, &$0) }) { missing.append(name) }
        if body.count == propertiesStart {
            body.removeSubrange(propstatStart...)
        } else {
            write(fixed: "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
        }
        if listingMissing, !missing.isEmpty {
            write(fixed: "<D:propstat><D:prop>")
            for name in missing { name.writeEmpty(to: &body) }
            write(fixed: "</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
        }
        write(fixed: "</D:response>")
    }

    /// A PROPPATCH's answer: each property it names refused with 403 (RFC 4918 §9.2.1), as
    /// protected: nothing is stored.
    mutating func add(href: String, refused: [DAVPropertyName]) {
        open(.path(href))
        write(fixed: "<D:propstat><D:prop>")
        for name in refused { name.writeEmpty(to: &body) }
        write(fixed: "</D:prop><D:status>HTTP/1.1 403 Forbidden</D:status><D:error><D:cannot-modify-protected-property/></D:error>")
        write(fixed: "</D:propstat></D:response>")
    }

    /// A resource answered by a status alone (a deleted or unknown one: 404), with an optional
    /// `error` element (raw XML).
    mutating func add(href: String, status: String, error: String? = nil) {
        open(.path(href))
        write("<D:status>HTTP/1.1 \(status)</D:status>")
        if let error { write("<D:error>\(error)</D:error>") }
        write(fixed: "</D:response>")
    }

    /// The response to send: 207 with the XML body (moved out, not copied: a report's body is
    /// tens of kilobytes).
    consuming func response() -> HTTPResponse {
        if let syncToken {
            write(fixed: "<D:sync-token>")
            XMLEscaping.append(syncToken.utf8, to: &body)
            write(fixed: "</D:sync-token>")
        }
        write(fixed: "</D:multistatus>\n")
        var response = HTTPResponse(status: 207, body: body)
        response.contentType = DAVResponse.xmlContentType
        return response
    }
}

/// The href of a `response`: a path (percent-encoded), or an object of a calendar as its
/// calendar's href (`DAVHref.calendar`) and its name as stored, encoded as it is written.
enum DAVResponseHref {
    case path(String)
    /// The name is lent for the call (a row read in place).
    case object(inCalendar: String, name: UnsafeBufferPointer<UInt8>)
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

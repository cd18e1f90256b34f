import JSON
import TaskModel
import Testing
import XML
@testable import TodoAPI

/// CalDAV through the application (Addendum v2.2 §14), in-process: discovery, who may see
/// what, PROPFIND, the three REPORTs, PUT/GET/DELETE and every refusal of §14.4. The real
/// clients run against the real stack in IntegrationTests/test_caldav.py.
@Suite("CalDAV")
struct CalDAVTests {
    let h: Harness
    let basic: String

    init() throws {
        h = try Harness()
        let created = try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"phone"}"#)
        let password = try #require(created.object?["password"]?.stringValue)
        basic = "Basic " + Self.base64(Array("alice:\(password)".utf8))
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)]) + [0, 0]
            let value = UInt32(chunk[0]) << 16 | UInt32(chunk[1]) << 8 | UInt32(chunk[2])
            let count = min(3, bytes.count - index)
            for position in 0..<4 {
                output.append(position <= count ? alphabet[Int(value >> UInt32(18 - 6 * position) & 63)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    func dav(_ method: String, _ path: String, authorization: String? = "", body: String = "", depth: String? = nil,
             contentType: String? = nil, ifMatch: String? = nil, ifNoneMatch: String? = nil) -> ParsedReply {
        var request = HTTPRequest(method: HTTPMethod(rawValue: method), target: path,
                                  authorization: authorization == "" ? basic : authorization,
                                  contentType: contentType ?? (body.isEmpty ? nil : (body.hasPrefix("BEGIN") ? "text/calendar" : "application/xml")),
                                  body: Array(body.utf8))
        request.depth = depth
        request.ifMatch = ifMatch
        request.ifNoneMatch = ifNoneMatch
        return ParsedReply(h.application.respond(to: request).response)
    }

    func xml(_ reply: ParsedReply) throws -> XMLElement { try XMLReader.read(reply.response.body) }

    static func vtodo(_ uid: String, _ lines: String = "SUMMARY:Buy milk\r\n") -> String {
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:\(uid)\r\n\(lines)END:VTODO\r\nEND:VCALENDAR\r\n"
    }

    static let calendar = "/dav/calendars/alice/tasks/"

    /// The hrefs of a multistatus's responses, with each one's status (the first propstat's, or its own).
    func hrefs(_ reply: ParsedReply) throws -> [String: String] {
        var found: [String: String] = [:]
        for response in try xml(reply).children(DAVNamespace.dav, "response") {
            let href = response.child(DAVNamespace.dav, "href")?.text ?? ""
            let status = response.child(DAVNamespace.dav, "status")?.text
                ?? response.child(DAVNamespace.dav, "propstat")?.child(DAVNamespace.dav, "status")?.text ?? ""
            found[href] = status
        }
        return found
    }

    @Test func discoveryRedirectsWithoutCredentialsAndOptionsSaysCalDAV() {
        let redirect = dav("PROPFIND", "/.well-known/caldav", authorization: nil)
        #expect(redirect.status == 301 && redirect.header("Location") == "/dav/")
        let options = dav("OPTIONS", Self.calendar, authorization: nil)
        #expect(options.status == 200 && options.header("DAV") == "1, 3, calendar-access")
        #expect(options.header("Allow") == "OPTIONS, PROPFIND, REPORT, PROPPATCH")
    }

    @Test func withoutCredentialsEveryPathChallengesForBasicAndBearer() throws {
        let refused = dav("PROPFIND", "/dav/", authorization: nil, depth: "0")
        #expect(refused.status == 401 && refused.response.contentType.hasPrefix("application/xml"))
        let challenges = refused.response.headers.filter { $0.name == "WWW-Authenticate" }.map(\.value)
        #expect(challenges == ["Basic realm=\"todo-fcgi\", charset=\"UTF-8\"", "Bearer realm=\"todo-fcgi\""])
        #expect(try xml(refused).is(DAVNamespace.dav, "error"))
        #expect(dav("PROPFIND", "/dav/", authorization: "Basic " + Self.base64(Array("alice:todo_wrong".utf8))).status == 401)
        #expect(dav("PROPFIND", "/dav/", authorization: "Basic " + Self.base64(Array("alice:".utf8))).status == 401)
        #expect(dav("PROPFIND", "/dav/", authorization: "Basic !!!").status == 401)
        #expect(dav("PROPFIND", "/dav/", authorization: "Bearer not.a.token").status == 401)
        // The password is alice's: under another user's name it opens nothing.
        let password = String(decoding: Self.decodeBasic(basic), as: UTF8.self).split(separator: ":")[1]
        #expect(dav("PROPFIND", "/dav/", authorization: "Basic " + Self.base64(Array("bob:\(password)".utf8))).status == 401)
        // And it never opens /api/.
        #expect(try h.send("GET", "/api/alice/tasks", authorization: basic).isError("missing_token"))
    }

    static func decodeBasic(_ header: String) -> [UInt8] {
        TodoApplication.basicCredentials(Array(header.utf8)).map { Array("\($0.user):".utf8) + $0.password } ?? []
    }

    @Test func aBearerTokenWorksTooAndADeletedPasswordFailsAtOnce() throws {
        #expect(try dav("PROPFIND", "/dav/", authorization: "Bearer " + (h.token("alice")), depth: "0").status == 207)
        #expect(dav("PROPFIND", "/dav/", depth: "0").status == 207)
        let id = try #require(try h.store.appPasswords(userID: "alice").first?.id)
        #expect(try h.send("DELETE", "/api/alice/app-passwords/\(id)", as: "alice").status == 204)
        #expect(dav("PROPFIND", "/dav/", depth: "0").status == 401)
    }

    @Test func aUseIsRecorded() throws {
        #expect(try h.store.appPasswords(userID: "alice").first?.lastUsedAt == nil)
        _ = dav("PROPFIND", "/dav/", depth: "0")
        #expect(try h.store.appPasswords(userID: "alice").first?.lastUsedAt == h.clock.milliseconds)
    }

    @Test func theRootNamesThePrincipalWhetherAskedOrNot() throws {
        for body in ["", #"<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#] {
            let reply = dav("PROPFIND", "/dav/", body: body, depth: "0")
            #expect(reply.status == 207)
            let principal = try xml(reply).child(DAVNamespace.dav, "response")?.child(DAVNamespace.dav, "propstat")?
                .child(DAVNamespace.dav, "prop")?.child(DAVNamespace.dav, "current-user-principal")?.child(DAVNamespace.dav, "href")?.text
            #expect(principal == "/dav/principals/alice/")
        }
        let infinite = dav("PROPFIND", "/dav/", depth: "infinity")
        #expect(try infinite.status == 403 && (xml(infinite).child(DAVNamespace.dav, "propfind-finite-depth")) != nil)
    }

    @Test func thePrincipalLeadsToTheHomeAndTheHomeHoldsOneCalendarOfTasks() throws {
        let principal = dav("PROPFIND", "/dav/principals/alice/", body: """
            <propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop><C:calendar-home-set/><displayname/><C:nope/></prop></propfind>
            """, depth: "0")
        #expect(principal.status == 207 && principal.text.contains("<D:href>/dav/calendars/alice/</D:href>"))
        #expect(principal.text.contains("HTTP/1.1 404 Not Found") && principal.text.contains("<C:nope/>"))
        let home = dav("PROPFIND", "/dav/calendars/alice/", depth: "1")
        #expect(try hrefs(home).keys.sorted() == ["/dav/calendars/alice/", Self.calendar])
        let calendar = dav("PROPFIND", Self.calendar, depth: "0")
        for part in ["<C:calendar/>", "<C:comp name=\"VTODO\"/>", "<D:displayname>Tasks</D:displayname>", "<D:sync-token>",
                     "<CS:getctag>", "<D:sync-collection/>", "<D:write/>"] {
            #expect(calendar.text.contains(part), "\(part)")
        }
        #expect(dav("PROPFIND", "/dav/calendars/bob/tasks/", depth: "0").status == 403)
        #expect(dav("PROPFIND", "/dav/principals/bob/", depth: "0").status == 403)
        #expect(dav("PROPFIND", "/dav/somewhere/else/", depth: "0").status == 404)
    }

    @Test func aPutTaskIsTheAPIsTaskAndTheAPIsWritesShowInCalDAV() throws {
        let put = dav("PUT", Self.calendar + "abc%20d.ics", body: Self.vtodo("uid-1", "SUMMARY:Buy milk\r\nPRIORITY:1\r\nX-KEEP:1\r\n"),
                      ifNoneMatch: "*")
        #expect(put.status == 201)
        let list = try h.send("GET", "/api/alice/tasks", as: "alice")
        let task = try #require(list.array?.first?.objectValue)
        #expect(task["title"] == .string("Buy milk") && task["priority"] == .string("high") && task["uid"] == .string("uid-1"))
        let get = dav("GET", Self.calendar + "abc%20d.ics")
        #expect(get.status == 200 && get.header("ETag") == "\"1\"" && get.response.contentType == DAVResponse.calendarContentType)
        #expect(get.text.contains("X-KEEP:1\r\n") && get.text.contains("UID:uid-1\r\n"))
        // A JSON write changes what CalDAV sees, ETag included; the kept property stays.
        let id = Int(task["id"]?.numberValue ?? 0)
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"title":"Buy oat milk"}"#,
                           contentType: "application/merge-patch+json").status == 200)
        let after = dav("GET", Self.calendar + "abc%20d.ics")
        #expect(after.header("ETag") == "\"2\"" && after.text.contains("SUMMARY:Buy oat milk") && after.text.contains("X-KEEP:1"))
        // A task made by the API is a resource named after its UID.
        let madeHere = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"from the web"}"#)
        let uid = try #require(madeHere.object?["uid"]?.stringValue)
        #expect(dav("GET", Self.calendar + uid + ".ics").text.contains("SUMMARY:from the web"))
    }

    @Test func putPreconditionsAndUIDRules() throws {
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1")).status == 201)
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1"), ifNoneMatch: "*").status == 412)
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1"), ifMatch: "\"9\"").status == 412)
        #expect(dav("PUT", Self.calendar + "new.ics", body: Self.vtodo("u9"), ifMatch: "\"1\"").status == 412)
        let replaced = dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1", "SUMMARY:changed\r\n"), ifMatch: "\"1\"")
        #expect(replaced.status == 204)
        let reuse = dav("PUT", Self.calendar + "b.ics", body: Self.vtodo("u1"))
        #expect(try reuse.status == 403 && (xml(reuse).child(DAVNamespace.calDAV, "no-uid-conflict")?.child(DAVNamespace.dav, "href")?.text)
            == Self.calendar + "a.ics")
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("other")).status == 403)
        #expect(dav("GET", Self.calendar + "b.ics").status == 404)
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").array?.count == 1)
    }

    @Test func theETagComesBackOnlyWhenTheStoredObjectIsWhatWasSent() throws {
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1")).header("ETag") == nil)
        let stored = dav("GET", Self.calendar + "a.ics").text
        let again = dav("PUT", Self.calendar + "a.ics", body: stored)
        // Sent back as read, it is stored as sent, but DTSTAMP and LAST-MODIFIED move with the write:
        // unless the clock stands still, the object differs, and no ETag is given.
        h.clock.advance(by: 0)
        #expect(again.status == 204)
        let reread = dav("GET", Self.calendar + "a.ics")
        #expect(again.header("ETag") == nil || again.header("ETag") == reread.header("ETag"))
    }

    @Test func deleteTakesIfMatchAndLeavesNothing() throws {
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1")).status == 201)
        #expect(dav("DELETE", Self.calendar + "a.ics", ifMatch: "\"7\"").status == 412)
        #expect(dav("DELETE", Self.calendar + "a.ics", ifMatch: "\"1\"").status == 204)
        #expect(dav("DELETE", Self.calendar + "a.ics").status == 404)
        #expect(dav("GET", Self.calendar + "a.ics").status == 404)
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").array?.isEmpty == true)
    }

    @Test func syncCollectionReportsChangesAndDeletionsOnTheAPIsNumbering() throws {
        let report = { (token: String, limit: String) in
            self.dav("REPORT", Self.calendar, body: """
                <d:sync-collection xmlns:d="DAV:"><d:sync-token>\(token)</d:sync-token><d:sync-level>1</d:sync-level>\(limit)<d:prop><d:getetag/></d:prop></d:sync-collection>
                """)
        }
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1")).status == 201)
        #expect(dav("PUT", Self.calendar + "b.ics", body: Self.vtodo("u2")).status == 201)
        let first = report("", "")
        #expect(try first.status == 207 && (hrefs(first).keys.sorted()) == [Self.calendar + "a.ics", Self.calendar + "b.ics"])
        let token = try #require(try xml(first).child(DAVNamespace.dav, "sync-token")?.text)
        // Nothing new: nothing listed, the same position.
        let quiet = report(token, "")
        #expect(try hrefs(quiet).isEmpty)
        // A JSON create, a CalDAV delete.
        _ = try h.create("alice", #"{"title":"web"}"#)
        #expect(dav("DELETE", Self.calendar + "a.ics").status == 204)
        let second = report(token, "")
        let seen = try hrefs(second)
        #expect(seen[Self.calendar + "a.ics"] == "HTTP/1.1 404 Not Found" && seen.count == 2)
        // A limit of one: one change, a 507 on the collection, and a token that goes on.
        let limited = report(token, "<d:limit><d:nresults>1</d:nresults></d:limit>")
        let limitedSeen = try hrefs(limited)
        #expect(limitedSeen[Self.calendar] == "HTTP/1.1 507 Insufficient Storage" && limitedSeen.count == 2)
        let next = try #require(try xml(limited).child(DAVNamespace.dav, "sync-token")?.text)
        let rest = try hrefs(report(next, ""))
        #expect(rest.count == 1 && rest[Self.calendar + "a.ics"] == "HTTP/1.1 404 Not Found")
        // Tokens that were never given: 403 valid-sync-token.
        for bad in ["urn:todo-fcgi:sync:AAAA", "http://example.com/x", token + "x"] {
            let refused = report(bad, "")
            #expect(try refused.status == 403 && (xml(refused).child(DAVNamespace.dav, "valid-sync-token")) != nil, "\(bad)")
        }
        // Another user's token is not this user's.
        let bobs = try h.send("GET", "/api/bob/tasks/changes", as: "bob").object?["cursor"]?.stringValue ?? ""
        #expect(report("urn:todo-fcgi:sync:" + bobs, "").status == 403)
    }

    @Test func calendarQueryFiltersOnCompletedStatusAndDue() throws {
        #expect(dav("PUT", Self.calendar + "open.ics", body: Self.vtodo("o", "SUMMARY:open\r\nDUE:20270110T100000Z\r\n")).status == 201)
        #expect(dav("PUT", Self.calendar + "done.ics", body: Self.vtodo("d", "SUMMARY:done\r\nSTATUS:COMPLETED\r\n")).status == 201)
        #expect(dav("PUT", Self.calendar + "later.ics", body: Self.vtodo("l", "SUMMARY:later\r\nDUE:20280110T100000Z\r\n")).status == 201)
        let query = { (inner: String) in
            self.dav("REPORT", Self.calendar, body: """
                <C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>
                <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">\(inner)</C:comp-filter></C:comp-filter></C:filter>
                </C:calendar-query>
                """, depth: "1")
        }
        let all = query("")
        #expect(try hrefs(all).count == 3 && all.text.contains("BEGIN:VTODO"))
        let open = try hrefs(query(#"<C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>"#))
        #expect(open.keys.sorted() == [Self.calendar + "later.ics", Self.calendar + "open.ics"])
        let notDone = try hrefs(query(#"<C:prop-filter name="STATUS"><C:text-match negate-condition="yes">completed</C:text-match></C:prop-filter>"#))
        #expect(notDone.count == 2)
        let due2027 = try hrefs(query(#"<C:time-range start="20270101T000000Z" end="20280101T000000Z"/>"#))
        // The undated task is in every range (RFC 4791 §9.9); the one due in 2028 is not.
        #expect(due2027.keys.sorted() == [Self.calendar + "done.ics", Self.calendar + "open.ics"])
        let events = try hrefs(dav("REPORT", Self.calendar, body: """
            <C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>
            <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>
            """))
        #expect(events.isEmpty)
    }

    /// The text a report carries is the object GET returns, unescaped, and its length is that
    /// text's: in either order of the two properties, whether the object was written straight
    /// into the report or made whole first (a filter, PROPFIND), with XML's special characters.
    @Test func calendarDataAndItsLengthAreTheObjectGetReturns() throws {
        #expect(dav("PUT", Self.calendar + "x.ics", body: Self.vtodo("x", "SUMMARY:Tom & Jerry's <\"show\">\r\nX-APP:kept\r\n")).status == 201)
        let object = dav("GET", Self.calendar + "x.ics")
        #expect(object.status == 200)
        let filters = ["", #"<C:prop-filter name="SUMMARY"><C:text-match>jerry</C:text-match></C:prop-filter>"#]
        for properties in ["<C:calendar-data/><D:getcontentlength/>", "<D:getcontentlength/><C:calendar-data/>"] {
            for filter in filters {
                let reply = dav("REPORT", Self.calendar, body: """
                    <C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>\(properties)</D:prop>
                    <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">\(filter)</C:comp-filter></C:comp-filter></C:filter>
                    </C:calendar-query>
                    """, depth: "1")
                let prop = try #require(try xml(reply).child(DAVNamespace.dav, "response")?.child(DAVNamespace.dav, "propstat")?
                    .child(DAVNamespace.dav, "prop"), "\(properties) \(filter)")
                #expect(prop.child(DAVNamespace.calDAV, "calendar-data")?.text == object.text, "\(properties) \(filter)")
                #expect(prop.child(DAVNamespace.dav, "getcontentlength")?.text == String(object.response.body.count), "\(properties) \(filter)")
            }
            let found = dav("PROPFIND", Self.calendar + "x.ics", body: #"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>"#
                + properties + "</D:prop></D:propfind>", depth: "0")
            let prop = try #require(try xml(found).child(DAVNamespace.dav, "response")?.child(DAVNamespace.dav, "propstat")?
                .child(DAVNamespace.dav, "prop"))
            #expect(prop.child(DAVNamespace.calDAV, "calendar-data")?.text == object.text, "PROPFIND \(properties)")
            #expect(prop.child(DAVNamespace.dav, "getcontentlength")?.text == String(object.response.body.count), "PROPFIND \(properties)")
        }
    }

    @Test func multigetAnswersEachHref() throws {
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u1")).status == 201)
        let reply = dav("REPORT", Self.calendar, body: """
            <C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>
            <D:href>\(Self.calendar)a.ics</D:href><D:href>http://localhost:8080\(Self.calendar)a.ics</D:href>
            <D:href>\(Self.calendar)none.ics</D:href><D:href>/dav/calendars/bob/tasks/a.ics</D:href></C:calendar-multiget>
            """)
        let seen = try hrefs(reply)
        #expect(seen[Self.calendar + "a.ics"] == "HTTP/1.1 200 OK" && seen["http://localhost:8080" + Self.calendar + "a.ics"] == "HTTP/1.1 200 OK")
        #expect(seen[Self.calendar + "none.ics"] == "HTTP/1.1 404 Not Found" && seen["/dav/calendars/bob/tasks/a.ics"] == "HTTP/1.1 404 Not Found")
    }

    @Test(arguments: [
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "supported-calendar-component"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:x\r\n", "valid-calendar-data"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", "valid-calendar-object-resource"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", "valid-calendar-object-resource"),
    ])
    func badCalendarObjectsAre403WithTheirPreconditionAndWriteNothing(_ body: String, _ precondition: String) throws {
        let reply = dav("PUT", Self.calendar + "a.ics", body: body)
        #expect(try reply.status == 403 && (xml(reply).child(DAVNamespace.calDAV, precondition)) != nil, "\(reply.text)")
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").array?.isEmpty == true)
    }

    @Test func bodiesThatAreNotUTF8OrTooLargeOrNotCalendarsAreRefused() throws {
        var request = HTTPRequest(method: "PUT", target: Self.calendar + "a.ics", authorization: basic, contentType: "text/calendar",
                                  body: Array(Self.vtodo("u").utf8).map { $0 == UInt8(ascii: "k") ? 0xFF : $0 })
        #expect(h.application.respond(to: request).response.status == 415)
        request = HTTPRequest(method: "PUT", target: Self.calendar + "a.ics", authorization: basic, contentType: "text/calendar",
                              body: [UInt8](repeating: 0x41, count: HTTPRequest.maximumBodySize + 1))
        #expect(h.application.respond(to: request).response.status == 413)
        #expect(dav("PUT", Self.calendar + "a.ics", body: Self.vtodo("u"), contentType: "application/json").status == 415)
    }

    @Test(arguments: [
        "<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><d:propfind xmlns:d=\"DAV:\">&a;</d:propfind>",
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>",
        String(repeating: "<a>", count: 33) + String(repeating: "</a>", count: 33),
        "<d:propfind xmlns:d=\"DAV:\"><d:prop>", "<d:propfind xmlns:d=\"DAV:\">&nbsp;</d:propfind>",
    ])
    func xmlThatIsNotSafeOrNotWellFormedIs400(_ body: String) throws {
        let reply = dav("PROPFIND", Self.calendar, body: body, depth: "0")
        #expect(try reply.status == 400 && (xml(reply).is(DAVNamespace.dav, "error")))
    }

    @Test func proppatchChangesNothingAndCollectionsCannotBeMade() throws {
        let patch = dav("PROPPATCH", Self.calendar, body: """
            <d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Mine</d:displayname></d:prop></d:set></d:propertyupdate>
            """)
        #expect(patch.status == 207 && patch.text.contains("<D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status>"))
        #expect(dav("PROPFIND", Self.calendar, depth: "0").text.contains("<D:displayname>Tasks</D:displayname>"))
        #expect(dav("MKCALENDAR", "/dav/calendars/alice/other/").status == 403)
        #expect(dav("MKCOL", "/dav/calendars/alice/other/").status == 403)
        let copy = dav("COPY", Self.calendar + "a.ics")
        #expect(copy.status == 405 && copy.header("Allow") != nil)
        #expect(dav("REPORT", "/dav/calendars/alice/", body: "<d:sync-collection xmlns:d=\"DAV:\"/>").status == 405)
        #expect(dav("REPORT", Self.calendar, body: "<d:expand-property xmlns:d=\"DAV:\"/>").status == 403)
    }
}

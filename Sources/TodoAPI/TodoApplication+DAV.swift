import ICalendar
import TaskModel
import XML

/// CalDAV (Addendum v2.2 §14): the user's tasks as one calendar of VTODOs, for native task
/// apps. Discovery and OPTIONS need no credentials; everything else is one user's, under
/// their own paths only. Every refusal is an XML `DAV:error`.
extension TodoApplication {
    /// What a sync token is made of: this prefix and the `/tasks/changes` cursor (RFC 6578 wants a URI).
    static let syncTokenPrefix = "urn:todo-fcgi:sync:"
    /// Tasks read per store call while listing a calendar.
    static let davPageSize = 1000
    /// The most changes a `sync-collection` answers without a limit of its own before it says
    /// 507 and hands out a continuation token.
    static let davSyncMaximum = 5000

    func handleDAV(_ request: HTTPRequest, resource: DAVResource, _ reply: inout Reply) throws -> HTTPResponse {
        let allowed = resource.kind.allowedMethods
        if resource == .discovery {
            return HTTPResponse(status: 301, headers: [("Location", "/dav/")])
        }
        if request.method == .options {
            return HTTPResponse(status: 200, headers: [DAVResponse.davHeader, ("Allow", allowed.joined(separator: ", "))])
        }
        let user = try authenticateDAV(request, &reply)
        reply.user = user
        let userID = Array(user.id.utf8)
        if let owner = resource.owner, owner != userID { throw DAVError.forbidden }
        switch request.method {
        case "MKCALENDAR":
            throw DAVError.forbidden("<C:calendar-collection-location-ok/>", "Each user has exactly one calendar, tasks/.")
        case "MKCOL":
            throw DAVError.forbidden("", "Collections cannot be made here.")
        case _ where resource == .unknown:
            throw DAVError.notFound
        case _ where !allowed.contains(request.method.rawValue):
            throw DAVError.methodNotAllowed(allowed)
        case .propfind:
            return try propfind(request, resource: resource, user: user)
        case .proppatch:
            var multistatus = DAVMultistatus()
            let names = try DAVRequestBodies.proppatch(DAVRequestBodies.document(request))
            multistatus.add(href: String(decoding: request.path, as: UTF8.self), refused: names)
            return multistatus.response()
        case .report:
            return try report(request, resource: resource, user: user)
        default:
            guard case .object(_, let name) = resource else { throw DAVError.methodNotAllowed(allowed) }
            return try handleObject(request, name: name, user: user, &reply)
        }
    }

    // MARK: - PROPFIND

    private func propfind(_ request: HTTPRequest, resource: DAVResource, user: AuthenticatedUser) throws -> HTTPResponse {
        let depth = request.depth?.lowercased() ?? "0"
        guard depth == "0" || depth == "1" else {
            throw DAVError.forbidden("<D:propfind-finite-depth/>", "PROPFIND with Depth infinity is not supported; use 0 or 1.")
        }
        let properties = try DAVRequestBodies.propfind(DAVRequestBodies.document(request))
        let userID = Array(user.id.utf8)
        var multistatus = DAVMultistatus(listingCollection: depth == "1")
        switch resource {
        case .root:
            DAVProperties.add(.root, href: .path("/dav/"), user: userID, request: properties, to: &multistatus)
        case .principal:
            DAVProperties.add(.principal, href: .path(DAVHref.principal(userID)), user: userID, request: properties, to: &multistatus)
        case .home:
            DAVProperties.add(.home, href: .path(DAVHref.home(userID)), user: userID, request: properties, to: &multistatus)
            if depth == "1" {
                DAVProperties.add(try calendarTarget(user, properties), href: .path(DAVHref.calendar(userID)), user: userID,
                                  request: properties, to: &multistatus)
            }
        case .calendar:
            DAVProperties.add(try calendarTarget(user, properties), href: .path(DAVHref.calendar(userID)), user: userID,
                              request: properties, to: &multistatus)
            if depth == "1" {
                let calendarHref = DAVHref.calendar(userID)
                try forEachTask(user) { row in
                    row.withResourceName { name in
                        DAVProperties.add(.object(row), href: .object(inCalendar: calendarHref, name: name), user: userID,
                                          request: properties, to: &multistatus)
                    }
                }
            }
        case .object(_, let name):
            guard let task = try object(named: name, of: user) else { throw DAVError.notFound }
            DAVProperties.add(.object(task.row), href: .path(DAVHref.object(userID, name)), user: userID, request: properties, to: &multistatus)
        case .discovery, .unknown:
            throw DAVError.notFound
        }
        return multistatus.response()
    }

    /// The calendar, its sync token read only if `properties` asks for it.
    private func calendarTarget(_ user: AuthenticatedUser, _ properties: DAVPropertyRequest) throws -> DAVTarget {
        guard DAVProperties.asksForSyncToken(properties) else { return .calendar(syncToken: nil) }
        return .calendar(syncToken: try syncToken(for: lastChangePosition(user), user: user))
    }

    /// Where the user's changes stand now: a first sync page of no entries has the user's last
    /// change as its floor.
    private func lastChangePosition(_ user: AuthenticatedUser) throws -> SyncPosition {
        let floor = try store.syncPage(userID: user.id, since: nil, limit: 0).cursor.floor
        return SyncPosition(change: floor, floor: floor)
    }

    /// Calls `each` with every task of the user, oldest first, as rows read in place (valid
    /// during the call), a page of `davPageSize` at a time: nothing is copied out.
    private func forEachTask(_ user: AuthenticatedUser, _ each: (TaskRow) -> Void) throws {
        var query = TaskListQuery()
        query.limit = Self.davPageSize
        while true {
            var seen = 0
            let total = try store.list(userID: user.id, query: query) { row in
                seen += 1
                each(row)
            }
            query.offset += Int64(seen)
            if seen < query.limit || query.offset >= total { return }
        }
    }

    private func syncToken(for position: SyncPosition, user: AuthenticatedUser) throws -> String {
        Self.syncTokenPrefix + (try syncCursor()).encode(position, userID: user.id)
    }

    // MARK: - REPORT

    private func report(_ request: HTTPRequest, resource: DAVResource, user: AuthenticatedUser) throws -> HTTPResponse {
        guard case .calendar = resource else {
            throw DAVError.forbidden("<D:supported-report/>", "Reports are answered on the calendar collection, tasks/.",
                                     code: "unsupported_report")
        }
        let userID = Array(user.id.utf8)
        var multistatus = DAVMultistatus(listingCollection: true)
        switch try DAVRequestBodies.report(DAVRequestBodies.document(request)) {
        case .calendarQuery(let properties, let filter):
            // A filter every task passes (VCALENDAR › VTODO, nothing more) needs no components.
            let filters = !DAVFilter.passesEveryTask(filter)
            let calendarHref = DAVHref.calendar(userID)
            try forEachTask(user) { row in
                var objectText: [UInt8]?
                if filters {
                    // Made once, for the filter and the answer's calendar-data alike.
                    let (calendar, zones) = VTODOWriter.calendar(row)
                    guard DAVFilter.matches(calendar, filter, zones: zones) else { return }
                    objectText = ICalWriter.write(calendar)
                }
                row.withResourceName { name in
                    DAVProperties.add(.object(row), href: .object(inCalendar: calendarHref, name: name), user: userID,
                                      request: properties, to: &multistatus, objectText: objectText)
                }
            }
        case .calendarMultiget(let properties, let hrefs):
            for href in hrefs.prefix(Self.davSyncMaximum) {
                guard case .object(let owner, let name)? = DAVResource.parse(Self.path(ofHref: href)), owner == userID,
                      let task = try object(named: name, of: user) else {
                    multistatus.add(href: href, status: "404 Not Found")
                    continue
                }
                DAVProperties.add(.object(task.row), href: .path(href), user: userID, request: properties, to: &multistatus)
            }
        case .syncCollection(let properties, let token, let limit):
            try syncCollection(user: user, token: token, limit: limit, properties: properties, into: &multistatus)
        }
        return multistatus.response()
    }

    /// RFC 6578 on the `/tasks/changes` numbering: changed tasks with their properties, deleted
    /// ones as 404, and a new token; with more than fit, 507 on the collection and a token to go on.
    private func syncCollection(user: AuthenticatedUser, token: String, limit: Int?, properties: DAVPropertyRequest,
                                into multistatus: inout DAVMultistatus) throws {
        let userID = Array(user.id.utf8)
        var since: SyncPosition?
        if !token.isEmpty {
            guard token.hasPrefix(Self.syncTokenPrefix),
                  let position = try syncCursor().decode(String(token.dropFirst(Self.syncTokenPrefix.count)), userID: user.id) else {
                throw DAVError.forbidden("<D:valid-sync-token/>", "The sync token is not one this server gave this user.",
                                         code: "invalid_sync_token")
            }
            since = position
        }
        let wanted = min(limit ?? Self.davSyncMaximum, Self.davSyncMaximum)
        var taken = 0
        var truncated = false
        while true {
            let page = try store.syncPage(userID: user.id, since: since, limit: min(Self.davPageSize, wanted - taken))
            if let refusal = page.refusal {
                throw DAVError.forbidden("<D:valid-sync-token/>", refusal == .expired
                    ? "The sync token is older than the deletions kept (30 days): sync again from the start."
                    : "The sync token is not one this server gave this user.", code: "invalid_sync_token")
            }
            for task in page.tasks {
                DAVProperties.add(.object(task.row), href: .path(DAVHref.object(userID, task.resourceName)), user: userID,
                                      request: properties, to: &multistatus)
            }
            for deletion in page.deleted where !deletion.resourceName.isEmpty {
                multistatus.add(href: DAVHref.object(userID, Array(deletion.resourceName.utf8)), status: "404 Not Found")
            }
            taken += page.tasks.count + page.deleted.count
            since = page.cursor
            if !page.hasMore { break }
            if taken >= wanted {
                truncated = true
                break
            }
        }
        if truncated {
            multistatus.add(href: DAVHref.calendar(userID), status: "507 Insufficient Storage", error: "<D:number-of-matches-within-limits/>")
        }
        multistatus.syncToken = try syncToken(for: since ?? SyncPosition(change: 0, floor: 0), user: user)
    }

    /// The path of an href, absolute (`https://host/dav/…`) or not.
    static func path(ofHref href: String) -> [UInt8] {
        var bytes = Array(href.utf8)
        if let scheme = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[(scheme + 1)...].starts(with: "//".utf8) {
            let rest = bytes[(scheme + 3)...]
            bytes = Array(rest.firstIndex(of: UInt8(ascii: "/")).map { rest[$0...] } ?? [])
        }
        if let query = bytes.firstIndex(of: UInt8(ascii: "?")) { bytes = Array(bytes[..<query]) }
        return bytes
    }

    // MARK: - Objects

    private func handleObject(_ request: HTTPRequest, name: [UInt8], user: AuthenticatedUser, _ reply: inout Reply) throws -> HTTPResponse {
        let current = try object(named: name, of: user)
        switch request.method {
        case .get, .head:
            guard let current else { throw DAVError.notFound }
            let tag = EntityTags.tag(version: current.version)
            if let ifNoneMatch = request.ifNoneMatch, EntityTags.ifNoneMatch(ifNoneMatch, version: current.version) {
                return HTTPResponse(status: 304, headers: [("ETag", tag)])
            }
            var response = HTTPResponse(status: 200, headers: [("ETag", tag), ("Last-Modified", HTTPDate.format(milliseconds: current.updatedAt))],
                                        body: VTODOWriter.write(current.row))
            response.contentType = DAVResponse.calendarContentType
            return response
        case .delete:
            guard let current else { throw DAVError.notFound }
            switch try store.delete(userID: user.id, id: current.id, deletion: TaskDeletion(ifMatch: request.ifMatch), now: now()) {
            case .deleted:
                reply.committedChange = .deleted
                return HTTPResponse(status: 204)
            case .notFound: throw DAVError.notFound
            case .preconditionFailed: throw DAVError.preconditionFailed
            }
        default:
            return try put(request, name: name, current: current, user: user, &reply)
        }
    }

    /// PUT (RFC 4791 §5.3.2): a new task (201) or a replaced one (204), under `If-Match` /
    /// `If-None-Match: *`; the `ETag` only when what is stored reads back octet for octet as sent.
    private func put(_ request: HTTPRequest, name: [UInt8], current: StoredTask?, user: AuthenticatedUser,
                     _ reply: inout Reply) throws -> HTTPResponse {
        if request.bodyExceededLimit { throw DAVError.tooLarge }
        if let type = request.contentType, !type.lowercased().hasPrefix("text/calendar") {
            throw DAVError(status: 415, code: "unsupported_media_type", detail: "A calendar object is text/calendar.",
                           precondition: "<C:supported-calendar-data/>")
        }
        if let ifNoneMatch = request.ifNoneMatch, current != nil, ifNoneMatch.trimmedXMLSpaces == "*" { throw DAVError.preconditionFailed }
        if request.ifMatch != nil, current == nil { throw DAVError.preconditionFailed }
        var state: TaskState
        do {
            state = try VTODOReader.read(request.body)
        } catch {
            if error.reason == .notUTF8 {
                throw DAVError(status: 415, code: "unsupported_media_type", detail: error.detail, precondition: "<C:supported-calendar-data/>")
            }
            throw DAVError.forbidden("<C:\(error.reason.rawValue)/>", error.detail, code: "invalid_calendar_object")
        }
        let written: StoredTask
        if let current {
            guard state.uid == String(decoding: current.uid, as: UTF8.self) else {
                throw Self.uidConflict(user: user, name: name, "A PUT may not change a resource's UID.", code: "uid_changed")
            }
            switch try store.update(userID: user.id, id: current.id, update: TaskUpdate(.calendar(state), ifMatch: request.ifMatch), now: now()) {
            case .updated(let task), .unchanged(let task): written = task
            case .notFound: throw DAVError.notFound
            case .refused(.preconditionFailed): throw DAVError.preconditionFailed
            case .refused: throw DAVError.forbidden("<C:valid-calendar-object-resource/>", "The task would break a rule of the task model.")
            }
            reply.committedChange = .updated
        } else {
            if let other = try store.find(userID: user.id, key: .uid(state.uid), render: { row in row.withResourceName { Array($0) } }) {
                throw Self.uidConflict(user: user, name: other)
            }
            state.resourceName = String(decoding: name, as: UTF8.self)
            written = try createFromCalendar(state, user: user, name: name)
            reply.committedChange = .created
        }
        var headers: [(name: String, value: String)] = []
        if VTODOWriter.write(written.row) == request.body { headers.append(("ETag", EntityTags.tag(version: written.version))) }
        return HTTPResponse(status: current == nil ? 201 : 204, headers: headers)
    }

    /// Stores a task a PUT made; a UID or name another request took between the check and the
    /// insert is the same conflict as one found before.
    private func createFromCalendar(_ state: TaskState, user: AuthenticatedUser, name: [UInt8]) throws -> StoredTask {
        do {
            return try store.create(userID: user.id, state: state, now: now())
        } catch {
            if error.kind == .conflict { throw Self.uidConflict(user: user, name: name) }
            throw error
        }
    }

    /// 403 `C:no-uid-conflict`, naming the resource that holds the UID.
    private static func uidConflict(user: AuthenticatedUser, name: [UInt8], _ detail: String = "Another resource of this calendar has this UID.",
                                    code: String = "uid_conflict") -> DAVError {
        DAVError.forbidden("<C:no-uid-conflict><D:href>\(XMLEscaping.escape(DAVHref.object(Array(user.id.utf8), name)))</D:href></C:no-uid-conflict>",
                           detail, code: code)
    }

    /// The user's task named `name` in their calendar, if there is one.
    private func object(named name: [UInt8], of user: AuthenticatedUser) throws -> StoredTask? {
        try store.find(userID: user.id, key: .resourceName(String(decoding: name, as: UTF8.self)), render: StoredTask.init)
    }
}

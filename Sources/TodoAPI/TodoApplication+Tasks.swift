import JSON
import TaskModel

/// The task routes: list, create, read, replace, merge, complete, delete and sync.
extension TodoApplication {
    func handleTasks(_ request: HTTPRequest, user: AuthenticatedUser, resource: Route.TaskResource, _ reply: inout Reply) throws -> HTTPResponse {
        let method = request.method
        let consistency = ConsistencyToken.readConsistency(request.consistencyToken)
        switch resource {
        case .collection:
            if method.isRead {
                return try list(user: user, query: TaskListQuery(rawQuery: request.query), consistency: consistency)
            }
            let body = try requireBody(request)
            let state = try TaskInput.create(from: body)
            return try create(user: user, state: state, idempotency: IdempotencyKeyHeader.parse(request.idempotencyKey, body: body), &reply)
        case .task(let rawID):
            switch method {
            case .put, .patch:
                let changes = try TaskInput.changes(from: requireBody(request, mergePatch: method == .patch))
                let id = try taskID(rawID)
                return try update(user: user, id: id, TaskUpdate(method == .put ? .replace(changes) : .merge(changes), ifMatch: request.ifMatch), &reply)
            case .delete:
                let id = try taskID(rawID)
                switch try store.delete(userID: user.id, id: id, deletion: TaskDeletion(ifMatch: request.ifMatch), now: now()) {
                case .deleted:
                    reply.committedChange = .deleted
                    return withConsistencyToken(HTTPResponse(status: 204))
                case .notFound: throw APIError.taskNotFound
                case .preconditionFailed: throw APIError.preconditionFailed
                }
            default:
                let id = try taskID(rawID)
                guard let (version, body) = try store.find(userID: user.id, id: id, consistency: consistency,
                                                           render: { ($0.version, TaskJSON.encode($0)) }) else {
                    throw APIError.taskNotFound
                }
                if let ifNoneMatch = request.ifNoneMatch, EntityTags.ifNoneMatch(ifNoneMatch, version: version) {
                    return HTTPResponse(status: 304, headers: [("ETag", EntityTags.tag(version: version))], body: [])
                }
                return tagged(json(200, body), version: version)
            }
        case .completion(let rawID):
            let body = try optionalBody(request)
            let completed = try body.map { (bytes) throws(APIError) in try TaskInput.completion(from: bytes) }
            let id = try taskID(rawID)
            return try update(user: user, id: id, TaskUpdate(.complete(completed), ifMatch: request.ifMatch), &reply)
        case .changes:
            return try sync(user: user, request: request, consistency: consistency, &reply)
        case .appPasswords, .appPassword:
            return try handleAppPasswords(request, user: user, resource: resource)
        }
    }

    private func tagged(_ response: HTTPResponse, version: Int64) -> HTTPResponse {
        var response = response
        response.headers.append(("ETag", EntityTags.tag(version: version)))
        return response
    }

    /// The answer to a write that went through, with the token a read sends back to see it,
    /// where the store gives one (a backend that can route reads to a standby).
    private func withConsistencyToken(_ response: HTTPResponse) -> HTTPResponse {
        guard let change = store.changeAfterLastWrite else { return response }
        var response = response
        response.headers.append((ConsistencyToken.headerName, ConsistencyToken.encode(change)))
        return response
    }

    private func list(user: AuthenticatedUser, query: TaskListQuery, consistency: ReadConsistency) throws -> HTTPResponse {
        var writer = JSONWriter(capacity: 256 + min(query.limit, 100) * 300)
        writer.raw("[")
        var first = true
        let total = try store.list(userID: user.id, query: query, consistency: consistency) { row in
            if !first { writer.raw(",") }
            first = false
            TaskJSON.write(row, to: &writer)
        }
        writer.raw("]")
        return HTTPResponse(status: 200, headers: [("X-Total-Count", String(total))], body: writer.bytes)
    }

    private func create(user: AuthenticatedUser, state: TaskState, idempotency: IdempotencyKey?, _ reply: inout Reply) throws -> HTTPResponse {
        let location = { (id: Int64) in "/api/\(PercentDecoding.encodePathSegment(user.id.utf8))/tasks/\(id)" }
        switch try store.create(userID: user.id, state: state, now: now(), idempotency: idempotency, render: TaskJSON.encode) {
        case .created(let task):
            reply.committedChange = .created
            return withConsistencyToken(tagged(HTTPResponse(status: 201, headers: [("Location", location(task.id))],
                                                            body: TaskJSON.encode(task.row)), version: task.version))
        case .replayed(let taskID, let body):
            return withConsistencyToken(HTTPResponse(status: 201, headers: [("Location", location(taskID)), ("ETag", EntityTags.tag(version: 1)),
                                                                            ("Idempotent-Replayed", "true")], body: body))
        case .keyReused:
            throw APIError(.idempotencyKeyReused, detail: "This Idempotency-Key was used with a different request body.")
        case .keyInUse:
            throw APIError(.idempotencyKeyInUse, detail: "A request with this Idempotency-Key is being processed; retry shortly.")
        }
    }

    private func update(user: AuthenticatedUser, id: Int64, _ update: TaskUpdate, _ reply: inout Reply) throws -> HTTPResponse {
        switch try store.update(userID: user.id, id: id, update: update, now: now()) {
        case .notFound:
            throw APIError.taskNotFound
        case .refused(.invalid(let violation)):
            throw APIError.validation(violation.message)
        case .refused:
            throw APIError.preconditionFailed
        case .unchanged(let task):
            // Nothing was written: no change to count or announce.
            return withConsistencyToken(tagged(json(200, TaskJSON.encode(task.row)), version: task.version))
        case .updated(let task):
            reply.committedChange = .updated
            return withConsistencyToken(tagged(json(200, TaskJSON.encode(task.row)), version: task.version))
        }
    }

    /// `GET /api/{user_id}/tasks/changes?since=…&limit=…&wait=…`.
    private func sync(user: AuthenticatedUser, request: HTTPRequest, consistency: ReadConsistency, _ reply: inout Reply) throws -> HTTPResponse {
        let parameters = try SyncQuery(rawQuery: request.query)
        let cursors = try syncCursor()
        var since: SyncPosition?
        if let cursor = parameters.since {
            guard let position = cursors.decode(cursor, userID: user.id) else { throw APIError.invalidCursor }
            since = position
        }
        // §13: only a GET with a cursor waits. The marker is read before the database: a change
        // committed after that read moves it, so the wait below cannot miss it.
        let waitsFor = parameters.wait > 0 && since != nil && request.method == .get ? changeMarker : nil
        let marker = waitsFor?(user.changeKey)
        // A request that may wait reads from the primary: a standby that has not replayed a change
        // committed before the marker was read would show nothing new, and the wait that follows
        // would never be woken for that change.
        let page = try store.syncPage(userID: user.id, since: since, limit: parameters.limit,
                                      consistency: marker == nil ? consistency : .latest)
        switch page.refusal {
        case .unknown?: throw APIError.invalidCursor
        case .expired?: throw APIError(.cursorExpired, detail: "This cursor is older than the deletions kept; sync again without since.")
        case nil: break
        }
        if let marker, page.tasks.isEmpty, page.deleted.isEmpty, !page.hasMore {
            reply.ending = .untilChange(ChangeWait(key: user.changeKey, marker: marker, seconds: parameters.wait))
        }
        var writer = JSONWriter(capacity: 256 + page.tasks.count * 300 + page.deleted.count * 12)
        writer.raw("{\"tasks\":[")
        for (index, task) in page.tasks.enumerated() {
            if index > 0 { writer.raw(",") }
            TaskJSON.write(task.row, to: &writer)
        }
        writer.raw("],\"deleted\":[")
        for (index, deletion) in page.deleted.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.integer(deletion.id)
        }
        writer.raw("],\"cursor\":")
        writer.string(cursors.encode(page.cursor, userID: user.id))
        writer.raw(",\"has_more\":")
        writer.bool(page.hasMore)
        writer.raw("}")
        return json(200, writer.bytes)
    }
}

extension APIError {
    static let preconditionFailed = APIError(.preconditionFailed, detail: "If-Match does not list the task's current ETag: it changed since it was read.")
    static let invalidCursor = APIError(.invalidCursor, detail: "since is not a cursor this service gave this user.")
    static let unsupportedMergePatchMediaType = APIError(.unsupportedMediaType, detail: "The request body must be a JSON merge patch (Content-Type: application/merge-patch+json or application/json).")
}

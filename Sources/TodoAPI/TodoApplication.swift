import ASCII
import Clocks
import JSON

/// The whole API for one worker thread: route, authenticate, validate, call the store, render.
///
/// It sees only `HTTPRequest` and `HTTPResponse`, so it runs in tests without sockets.
/// Not Sendable: it owns the thread's authenticator and store.
public final class TodoApplication {
    private let authenticator: Authenticator
    private let store: any TaskStore
    private let now: @Sendable () -> Int64
    private let log: @Sendable (String) -> Void
    private let cors: CORSPolicy
    private let metrics: (@Sendable () -> (contentType: String, body: [UInt8]))?

    /// Creates the application over `store`; `nowMilliseconds` gives milliseconds since the epoch
    /// (task timestamps), `log` receives fault details, and `metrics` renders `/metrics` (without
    /// it, `/metrics` is no route).
    public init(authenticator: Authenticator, store: any TaskStore, cors: CORSPolicy = CORSPolicy(),
                nowMilliseconds: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
                metrics: (@Sendable () -> (contentType: String, body: [UInt8]))? = nil,
                log: @escaping @Sendable (String) -> Void) {
        self.authenticator = authenticator
        self.store = store
        self.cors = cors
        self.now = nowMilliseconds
        self.metrics = metrics
        self.log = log
    }

    /// Answers one request. Never throws: every failure becomes a JSON error response.
    public func respond(to request: HTTPRequest) -> Reply {
        var reply = Reply(response: HTTPResponse(status: 500))
        var response: HTTPResponse
        do {
            response = try handle(request, &reply)
        } catch let error as APIError {
            reply.authFailureReason = error.authFailureReason
            response = error.response
        } catch let error as StorageError {
            reply.storageFailure = "\(error.kind)"
            response = Self.apiError(for: error, log: log).response
        } catch {
            log("unexpected error: \(error)")
            response = APIError.internalError.response
        }
        if response.status != 204 || request.method != .options {
            cors.decorate(&response, origin: request.origin)
        }
        // A task write answered 2xx has been committed (the store acknowledges nothing earlier).
        reply.committedWrite = reply.authenticatedUser != nil && (200..<300).contains(response.status)
            && [.post, .put, .patch, .delete].contains(request.method)
        reply.response = response
        return reply
    }

    /// The answer to a request that waited too long for a free thread: 503 with `Retry-After`,
    /// CORS headers as for any other error, and nothing done (no authentication, no storage).
    public func overloaded(_ request: HTTPRequest) -> Reply {
        var response = APIError.overloaded.response
        cors.decorate(&response, origin: request.origin)
        return Reply(response: response, routeTemplate: Router.route(request.path)?.template)
    }

    /// Answers `request`, noting in `reply` the route and the user as soon as they are known
    /// (the access log wants them for failed requests too).
    private func handle(_ request: HTTPRequest, _ reply: inout Reply) throws -> HTTPResponse {
        guard let route = Router.route(request.path), route != .metrics || metrics != nil else {
            throw APIError.routeNotFound
        }
        reply.routeTemplate = route.template
        let method = request.method
        if method == .options, request.accessControlRequestMethod != nil, let origin = request.origin, cors.allows(origin) {
            // A CORS preflight carries no credentials: it is answered before authentication.
            return cors.preflight(for: route, origin: origin)
        }
        guard route.allowedMethods.contains(method) else {
            throw APIError.methodNotAllowed(route.allowedMethods)
        }
        guard let (owner, resource) = route.taskResource else {
            if route == .metrics, let metrics {
                let (contentType, body) = metrics()
                var response = HTTPResponse(status: 200, body: body)
                response.contentType = contentType
                return response
            }
            return health(&reply)
        }

        let user = try authenticator.authenticate(authorization: request.authorization)
        reply.authenticatedUser = user.id
        guard owner.elementsEqual(user.id.utf8) else { throw APIError.forbidden }

        switch resource {
        case .collection:
            if method.isRead {
                return try list(user: user, query: TaskListQuery(rawQuery: request.query))
            }
            return try create(user: user, draft: TaskInput.draft(from: requireBody(request)))
        case .task(let rawID):
            switch method {
            case .put:
                let draft = try TaskInput.draft(from: requireBody(request))
                let id = try taskID(rawID)
                guard let body = try store.replace(userID: user.id, id: id, draft: draft, now: now(), render: TaskJSON.encode) else {
                    throw APIError.taskNotFound
                }
                return json(200, body)
            case .delete:
                let id = try taskID(rawID)
                guard try store.delete(userID: user.id, id: id) else { throw APIError.taskNotFound }
                return HTTPResponse(status: 204)
            default:
                let id = try taskID(rawID)
                guard let body = try store.find(userID: user.id, id: id, render: TaskJSON.encode) else {
                    throw APIError.taskNotFound
                }
                return json(200, body)
            }
        case .completion(let rawID):
            let body = try optionalBody(request)
            let completed = try body.map { (bytes) throws(APIError) in try TaskInput.completion(from: bytes) }
            let id = try taskID(rawID)
            guard let body = try store.setCompleted(userID: user.id, id: id, completed: completed, now: now(),
                                                    render: TaskJSON.encode) else {
                throw APIError.taskNotFound
            }
            return json(200, body)
        }
    }

    private func health(_ reply: inout Reply) -> HTTPResponse {
        do {
            try store.checkHealth()
        } catch {
            reply.storageFailure = "\(error.kind)"
            log("health check failed: \(error)")
            return APIError(status: 503, code: "database_unavailable", detail: "The database is not usable.",
                            headers: [.init(name: "Retry-After", value: "5")]).response
        }
        return json(200, Array(#"{"status":"ok"}"#.utf8))
    }

    private func list(user: AuthenticatedUser, query: TaskListQuery) throws -> HTTPResponse {
        var writer = JSONWriter(capacity: 256 + min(query.limit, 100) * 200)
        writer.raw("[")
        var first = true
        let total = try store.list(userID: user.id, query: query) { row in
            if !first { writer.raw(",") }
            first = false
            TaskJSON.write(row, to: &writer)
        }
        writer.raw("]")
        return HTTPResponse(status: 200, headers: [("X-Total-Count", String(total))], body: writer.bytes)
    }

    private func create(user: AuthenticatedUser, draft: TaskDraft) throws -> HTTPResponse {
        let (id, body) = try store.create(userID: user.id, draft: draft, now: now()) { row in (row.id, TaskJSON.encode(row)) }
        let location = "/api/\(PercentDecoding.encodePathSegment(user.id.utf8))/tasks/\(id)"
        return HTTPResponse(status: 201, headers: [("Location", location)], body: body)
    }

    private func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, body: body)
    }

    private func taskID(_ raw: [UInt8]) throws(APIError) -> Int64 {
        guard let id = TaskID.parse(raw) else { throw APIError.taskNotFound }
        return id
    }

    /// The body of a request that must have one.
    private func requireBody(_ request: HTTPRequest) throws(APIError) -> [UInt8] {
        guard let body = try optionalBody(request) else {
            throw APIError.invalidJSON("A JSON request body is required.")
        }
        return body
    }

    /// The body if one was sent, after the size and media-type checks.
    private func optionalBody(_ request: HTTPRequest) throws(APIError) -> [UInt8]? {
        if request.bodyExceededLimit {
            throw APIError.payloadTooLarge
        }
        guard request.hasBody else { return nil }
        guard Self.isJSONMediaType(request.contentType) else { throw APIError.unsupportedMediaType }
        return request.body
    }

    /// `application/json`, case-insensitive, parameters allowed.
    static func isJSONMediaType(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let essence = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return essence.trimmingASCIISpaces.lowercased() == "application/json"
    }

    /// Maps storage failures to client-safe errors; the detail goes to the log only.
    static func apiError(for error: StorageError, log: (String) -> Void) -> APIError {
        log("database error: \(error)")
        switch error.kind {
        case .busy:
            return APIError.unavailable("The database is busy; retry shortly.")
        case .unavailable, .incompatible:
            return APIError.unavailable("The database is temporarily unavailable.")
        case .conflict, .internal:
            return APIError.internalError
        }
    }
}

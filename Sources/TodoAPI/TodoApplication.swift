import APITables
import ASCII
import Clocks
import JSON
import TaskModel

/// The whole API for one worker thread: route, authenticate, validate, call the store, render.
///
/// It sees only `HTTPRequest` and `HTTPResponse`, so it runs in tests without sockets.
/// Not Sendable: it owns the thread's authenticator and store.
public final class TodoApplication {
    private(set) var authenticator: Authenticator
    let store: any TaskStore
    let now: @Sendable () -> Int64
    let log: @Sendable (String) -> Void
    private let cors: CORSPolicy
    private let metrics: (@Sendable () -> (contentType: String, body: [UInt8]))?
    /// Reads a user's change marker (live sync's feed); nil when requests never wait.
    let changeMarker: (@Sendable (ChangeKey) -> UInt64)?
    /// Keyed with the database's cursor key on the first sync request (read once per thread).
    private var cursors: SyncCursor?
    /// Whether a request the database could not take, with nothing done, ends `.whenAvailable`.
    private let waitsForTheDatabase: Bool

    /// Creates the application over `store`; `nowMilliseconds` gives milliseconds since the epoch
    /// (task timestamps), `log` receives fault details, `metrics` renders `/metrics` (without
    /// it, `/metrics` is no route), and `changeMarker` reads live sync's markers (without it, a
    /// sync request's `wait` is checked but answered at once). With `answersAfterDurability`,
    /// the store's writes return once committed and a reply that rests on commits not yet
    /// durable ends `.afterDurable` (where the store makes the two differ: `deferDurability`).
    /// With `waitsForTheDatabase`, a request the database could not take with nothing of it done
    /// (no server takes writes now) ends `.whenAvailable` instead of `.now` with its 503.
    public init(authenticator: Authenticator, store: any TaskStore, cors: CORSPolicy = CORSPolicy(),
                nowMilliseconds: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
                metrics: (@Sendable () -> (contentType: String, body: [UInt8]))? = nil,
                changeMarker: (@Sendable (ChangeKey) -> UInt64)? = nil,
                answersAfterDurability: Bool = false, waitsForTheDatabase: Bool = false,
                log: @escaping @Sendable (String) -> Void) {
        if answersAfterDurability { _ = store.deferDurability() }
        self.waitsForTheDatabase = waitsForTheDatabase
        self.changeMarker = changeMarker
        self.authenticator = authenticator
        self.store = store
        self.cors = cors
        self.now = nowMilliseconds
        self.metrics = metrics
        self.log = log
    }

    /// Authenticates the requests from now on with `authenticator` (new token settings).
    public func use(_ authenticator: Authenticator) {
        self.authenticator = authenticator
    }

    /// The sync cursor codec under the database's key, read from the store once.
    func syncCursor() throws -> SyncCursor {
        if let cursors { return cursors }
        let fresh = try SyncCursor(key: try store.syncCursorKey())
        cursors = fresh
        return fresh
    }

    /// Answers one request. Never throws: every failure becomes a JSON error response.
    public func respond(to request: HTTPRequest) -> Reply {
        var reply = Reply(response: HTTPResponse(status: 500))
        answer(request, &reply) { reply throws in try handle(request, &reply) }
        return reply
    }

    /// Reads the changes again for a sync request that has been waiting (contract §13), as its
    /// user: authenticated when it arrived, so a token that expired meanwhile does not matter.
    /// The reply waits again (`.untilChange`) when there is still nothing after its cursor.
    public func recheck(_ request: HTTPRequest, user: AuthenticatedUser) -> Reply {
        var reply = Reply(response: HTTPResponse(status: 500), routeTemplate: RouteKind.changes.template, user: user)
        answer(request, &reply) { reply throws in try handleTasks(request, user: user, resource: .changes, &reply) }
        return reply
    }

    /// Runs `handler` for `request` and puts its response (or its failure's) into `reply`.
    private func answer(_ request: HTTPRequest, _ reply: inout Reply, _ handler: (inout Reply) throws -> HTTPResponse) {
        var response: HTTPResponse
        // CalDAV's errors are XML (Addendum v2.2 §14.4), the API's JSON.
        let isDAV = DAVResource.isDAVPath(request.path)
        do {
            response = try handler(&reply)
        } catch let error as DAVError {
            response = error.response
        } catch let error as APIError {
            reply.authFailureReason = error.authFailureReason
            response = isDAV ? error.davResponse : error.response
        } catch let error as StorageError {
            reply.storageFailure = StorageFailureKind(error.kind)
            let apiError = Self.apiError(for: error, log: log)
            response = isDAV ? apiError.davResponse : apiError.response
            if waitsForTheDatabase, error.kind == .unavailable, error.nothingDone || Self.repeatable(request) {
                reply.ending = .whenAvailable
            }
        } catch {
            log("unexpected error: \(error)")
            response = isDAV ? APIError.internalError.davResponse : APIError.internalError.response
        }
        if response.status != 204 || request.method != .options {
            cors.decorate(&response, origin: request.origin)
        }
        reply.response = response
        // Taken here, where the store is owned: what the answer rests on that is not yet durable.
        if let wait = store.takeDurabilityWait() {
            reply.ending = .afterDurable(wait, failure: notDurable(request))
        }
    }

    /// Whether carrying `request` out again has the effect of carrying it out once, even if its
    /// first attempt was committed: a create with an `Idempotency-Key` (a second one replays the
    /// first's answer). So it may wait for the database when its commit's outcome is unknown.
    static func repeatable(_ request: HTTPRequest) -> Bool {
        request.method == .post && request.idempotencyKey != nil
    }

    /// The answer to a request that waited too long for a free thread: 503 with `Retry-After`,
    /// CORS headers as for any other error, and nothing done (no authentication, no storage).
    public func overloaded(_ request: HTTPRequest) -> Reply {
        var response = APIError.overloaded.response
        cors.decorate(&response, origin: request.origin)
        return Reply(response: response, routeTemplate: Router.route(request.path)?.template)
    }

    /// The answer to a sync request that may not wait (contract §13): 429 `too_many_waits` when
    /// its user already has their share of the waiting requests, else (the process holds all it
    /// may) 503 `wait_room_full`; both with `Retry-After` and CORS headers, for `user`.
    public func waitRefused(_ request: HTTPRequest, user: AuthenticatedUser, userShareTaken: Bool) -> Reply {
        var response = (userShareTaken ? APIError.tooManyWaits : APIError.waitRoomFull).response
        cors.decorate(&response, origin: request.origin)
        return Reply(response: response, routeTemplate: RouteKind.changes.template, user: user)
    }

    /// The answer to a request whose commits were not made durable (the flush covering them
    /// failed): 503, as for any write the database could not take, with CORS headers.
    private func notDurable(_ request: HTTPRequest) -> HTTPResponse {
        var response = APIError.unavailable("The database is temporarily unavailable.").response
        cors.decorate(&response, origin: request.origin)
        return response
    }

    /// Answers `request`, noting in `reply` the route and the user as soon as they are known
    /// (the access log wants them for failed requests too).
    private func handle(_ request: HTTPRequest, _ reply: inout Reply) throws -> HTTPResponse {
        let found = Router.route(request.path)
        let method = request.method
        if method == .options, request.accessControlRequestMethod != nil, let origin = request.origin, cors.allows(origin),
           found != .metrics, Self.answersPreflights(request.path) {
            // A CORS preflight carries no credentials: it is answered before authentication,
            // on every path of the API alike, routed or not (contract §12).
            reply.routeTemplate = found?.template
            return cors.preflight(origin: origin)
        }
        guard let route = found, route != .metrics || metrics != nil else {
            throw APIError.routeNotFound
        }
        reply.routeTemplate = route.template
        if case .dav(let resource) = route {
            return try handleDAV(request, resource: resource, &reply)
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
        reply.user = user
        guard owner.elementsEqual(user.id.utf8) else { throw APIError.forbidden }

        return try handleTasks(request, user: user, resource: resource, &reply)
    }

    /// `/health`, `/api` and every path under `/api/`: where a preflight is answered.
    static func answersPreflights(_ path: [UInt8]) -> Bool {
        path.elementsEqual("/health".utf8) || path.elementsEqual("/api".utf8) || path.starts(with: "/api/".utf8)
    }

    private func health(_ reply: inout Reply) -> HTTPResponse {
        do {
            try store.checkHealth()
        } catch {
            reply.storageFailure = StorageFailureKind(error.kind)
            log("health check failed: \(error)")
            return APIError(.databaseUnavailable, detail: "The database is not usable.",
                            headers: [.init(name: "Retry-After", value: "5")]).response
        }
        return json(200, Array(#"{"status":"ok"}"#.utf8))
    }

    func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, body: body)
    }

    func taskID(_ raw: [UInt8]) throws(APIError) -> Int64 {
        guard let id = TaskID.parse(raw) else { throw APIError.taskNotFound }
        return id
    }

    /// The body of a request that must have one.
    func requireBody(_ request: HTTPRequest, mergePatch: Bool = false) throws(APIError) -> [UInt8] {
        guard let body = try optionalBody(request, mergePatch: mergePatch) else {
            throw APIError.invalidJSON("A JSON request body is required.")
        }
        return body
    }

    /// The body if one was sent, after the size and media-type checks.
    func optionalBody(_ request: HTTPRequest, mergePatch: Bool = false) throws(APIError) -> [UInt8]? {
        if request.bodyExceededLimit {
            throw APIError.payloadTooLarge
        }
        guard request.hasBody else { return nil }
        guard Self.isJSONMediaType(request.contentType, mergePatch: mergePatch) else {
            throw mergePatch ? APIError.unsupportedMergePatchMediaType : APIError.unsupportedMediaType
        }
        return request.body
    }

    /// `application/json` (or, for a merge PATCH, `application/merge-patch+json` too),
    /// case-insensitive, parameters allowed.
    static func isJSONMediaType(_ contentType: String?, mergePatch: Bool = false) -> Bool {
        guard let contentType else { return false }
        let essence = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingASCIISpaces.lowercased()
        return essence == "application/json" || (mergePatch && essence == "application/merge-patch+json")
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

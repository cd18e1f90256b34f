/// Every route the API has: its template (logs, metrics labels), the methods it answers (`Allow`,
/// CORS preflights, nginx's own 405) and the nginx regular expression that recognises it in a
/// raw request URI. The router, the metrics labels and nginx's allow map are all read from
/// here, so a route cannot exist in one without the others.
public enum RouteKind: String, CaseIterable, Sendable {
    /// `/health`
    case health
    /// `/metrics`
    case metrics
    /// `/api/{user_id}/tasks`
    case tasks
    /// `/api/{user_id}/tasks/changes`: incremental sync (before `task` in `allCases`, as in
    /// nginx's map, where the first matching regular expression wins).
    case changes
    /// `/api/{user_id}/tasks/{id}`
    case task
    /// `/api/{user_id}/tasks/{id}/complete`
    case completion
    /// `/api/{user_id}/app-passwords`: the user's CalDAV app passwords (Addendum v2.2 §14.2)
    case appPasswords
    /// `/api/{user_id}/app-passwords/{id}`
    case appPassword
    /// `/.well-known/caldav`: CalDAV discovery (RFC 6764), a redirect to `/dav/`
    case davDiscovery
    /// `/dav/calendars/{user_id}/tasks/{name}`: one task as a calendar object (before
    /// `davCalendar` and `dav`, as in nginx's map, where the first match wins)
    case davObject
    /// `/dav/calendars/{user_id}/tasks/`: the user's one calendar, of tasks
    case davCalendar
    /// `/dav/…`: the root, principals and calendar homes (and unknown paths under `/dav/`)
    case dav

    /// A low-cardinality name for logs and metrics.
    public var template: String {
        switch self {
        case .health: return "/health"
        case .metrics: return "/metrics"
        case .tasks: return "/api/{user_id}/tasks"
        case .changes: return "/api/{user_id}/tasks/changes"
        case .task: return "/api/{user_id}/tasks/{id}"
        case .completion: return "/api/{user_id}/tasks/{id}/complete"
        case .appPasswords: return "/api/{user_id}/app-passwords"
        case .appPassword: return "/api/{user_id}/app-passwords/{id}"
        case .davDiscovery: return "/.well-known/caldav"
        case .davObject: return "/dav/calendars/{user_id}/tasks/{name}"
        case .davCalendar: return "/dav/calendars/{user_id}/tasks/"
        case .dav: return "/dav/{path}"
        }
    }

    /// The methods this route answers, in `Allow` header order.
    public var allowedMethods: [String] {
        switch self {
        case .health, .metrics, .changes: return ["GET", "HEAD"]
        case .tasks, .appPasswords: return ["GET", "HEAD", "POST"]
        case .appPassword: return ["DELETE"]
        case .davDiscovery: return ["GET", "HEAD", "OPTIONS", "PROPFIND"]
        case .davObject: return ["OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH"]
        case .davCalendar: return ["OPTIONS", "PROPFIND", "REPORT", "PROPPATCH"]
        case .dav: return ["OPTIONS", "PROPFIND", "PROPPATCH"]
        case .task: return ["GET", "HEAD", "PUT", "PATCH", "DELETE"]
        case .completion: return ["PATCH"]
        }
    }

    /// A PCRE pattern matching this route's raw request URI (path and optional query), as the
    /// router reads it: segments are split on `/` before percent-decoding, so a `%2F` in a user
    /// id stays inside its segment.
    public var nginxPattern: String {
        let segment = "[^/?]+"
        let end = "(\\?|$)"
        switch self {
        case .health: return "^/health\(end)"
        case .metrics: return "^/metrics\(end)"
        case .tasks: return "^/api/\(segment)/tasks\(end)"
        case .changes: return "^/api/\(segment)/tasks/changes\(end)"
        case .task: return "^/api/\(segment)/tasks/\(segment)\(end)"
        case .completion: return "^/api/\(segment)/tasks/\(segment)/complete\(end)"
        case .appPasswords: return "^/api/\(segment)/app-passwords\(end)"
        case .appPassword: return "^/api/\(segment)/app-passwords/\(segment)\(end)"
        case .davDiscovery: return "^/\\.well-known/caldav/?\(end)"
        case .davObject: return "^/dav/calendars/\(segment)/tasks/\(segment)\(end)"
        case .davCalendar: return "^/dav/calendars/\(segment)/tasks/?\(end)"
        case .dav: return "^/dav(/|\(end))"
        }
    }

    /// The metrics label of a request that matched no route.
    public static let noRouteLabel = "(none)"

    /// Whether the route is CalDAV's (`/dav/`, `/.well-known/caldav`): native apps, never a
    /// browser's cross-origin requests, so none of its methods is offered to CORS.
    public var isDAV: Bool {
        switch self {
        case .davDiscovery, .davObject, .davCalendar, .dav: return true
        default: return false
        }
    }

    /// Every method some API route answers, in first-seen order of the table: what a CORS
    /// preflight allows (contract §12: a preflight answers alike on every path, routed or not).
    public static var allMethods: [String] {
        var seen: [String] = []
        for route in allCases where !route.isDAV {
            for method in route.allowedMethods where !seen.contains(method) { seen.append(method) }
        }
        return seen
    }

    /// The nginx `map` from `$request_uri` to `$todo_allow`, the `Allow` list of nginx's own 405
    /// (TRACE, refused before any location): the route's methods, empty for no route (the 405
    /// page then answers 404, as the worker does). Included in nginx's http block.
    public static var nginxAllowMap: String {
        var text = """
            # Generated by `todo-fcgi nginx-maps` from the route table (Sources/APITables):
            # regenerate it with each release (scripts/install.sh and scripts/render-nginx-conf.sh do),
            # so nginx's own 405 lists the same methods as the worker. Included in nginx's http block.
            map $request_uri $todo_allow {
                default "";

            """
        for route in allCases {
            text += "    \"~\(route.nginxPattern)\" \"\(route.allowedMethods.joined(separator: ", "))\";\n"
        }
        return text + "}\n"
    }
}

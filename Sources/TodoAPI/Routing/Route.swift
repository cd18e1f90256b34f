import APITables
import TaskModel

/// The resources the API serves, as decoded from a request path.
public enum Route: Equatable, Sendable {
    /// `/health`
    case health
    /// `/metrics`: the Prometheus exposition (nginx lets only allowed addresses reach it)
    case metrics
    /// `/api/{user_id}/tasks`
    case tasks(user: [UInt8])
    /// `/api/{user_id}/tasks/{id}`; the id is the decoded segment, validated later.
    case task(user: [UInt8], id: [UInt8])
    /// `/api/{user_id}/tasks/{id}/complete`
    case completion(user: [UInt8], id: [UInt8])
    /// `/api/{user_id}/tasks/changes`: incremental sync
    case changes(user: [UInt8])
    /// `/api/{user_id}/app-passwords`
    case appPasswords(user: [UInt8])
    /// `/api/{user_id}/app-passwords/{id}`; the id is the decoded segment, validated later.
    case appPassword(user: [UInt8], id: [UInt8])
    /// `/dav/…` and `/.well-known/caldav`: CalDAV (Addendum v2.2).
    case dav(DAVResource)

    /// The route's row of the route table.
    public var kind: RouteKind {
        switch self {
        case .health: return .health
        case .metrics: return .metrics
        case .tasks: return .tasks
        case .task: return .task
        case .completion: return .completion
        case .changes: return .changes
        case .appPasswords: return .appPasswords
        case .appPassword: return .appPassword
        case .dav(let resource): return resource.kind
        }
    }

    /// The methods this resource answers, in `Allow` header order (from the route table).
    public var allowedMethods: [HTTPMethod] { Self.methods[kind] ?? [] }

    private static let methods: [RouteKind: [HTTPMethod]] = Dictionary(uniqueKeysWithValues: RouteKind.allCases.map { kind in
        (kind, kind.allowedMethods.map { HTTPMethod(rawValue: $0) })
    })

    /// A user's tasks, or one of them: what every route but `/health` addresses.
    public enum TaskResource: Equatable, Sendable {
        /// The collection, `/api/{user_id}/tasks`.
        case collection
        /// One task, by its raw (decoded, not yet validated) id.
        case task(id: [UInt8])
        /// One task's completion flag.
        case completion(id: [UInt8])
        /// The user's changes since a cursor.
        case changes
        /// The user's app passwords.
        case appPasswords
        /// One app password, by its raw id.
        case appPassword(id: [UInt8])
    }

    /// The decoded `{user_id}` and the resource of an API route; nil for `/health` and
    /// `/metrics`, which belong to nobody.
    public var taskResource: (owner: [UInt8], resource: TaskResource)? {
        switch self {
        case .health, .metrics, .dav: return nil
        case .tasks(let user): return (user, .collection)
        case .task(let user, let id): return (user, .task(id: id))
        case .completion(let user, let id): return (user, .completion(id: id))
        case .changes(let user): return (user, .changes)
        case .appPasswords(let user): return (user, .appPasswords)
        case .appPassword(let user, let id): return (user, .appPassword(id: id))
        }
    }

    /// A low-cardinality name for logs and metrics (from the route table).
    public var template: String { kind.template }
}

/// Maps raw request paths to routes.
///
/// Works on the raw (still percent-encoded) path so that `%2F` inside a user
/// id stays part of that id instead of becoming a separator. Anything that is
/// not exactly one of the routes, including a trailing slash, is no route.
public enum Router {
    /// The route for `rawPath`, or nil when there is none.
    public static func route(_ rawPath: [UInt8]) -> Route? {
        if rawPath.elementsEqual("/health".utf8) { return .health }
        if rawPath.elementsEqual("/metrics".utf8) { return .metrics }
        if let resource = DAVResource.parse(rawPath) { return .dav(resource) }
        guard rawPath.first == UInt8(ascii: "/") else { return nil }
        let segments = rawPath.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count >= 3, segments.count <= 5, segments[0].elementsEqual("api".utf8),
              let user = PercentDecoding.decode(segments[1]), !user.isEmpty else {
            return nil
        }
        if segments[2].elementsEqual("app-passwords".utf8) {
            if segments.count == 3 { return .appPasswords(user: user) }
            guard segments.count == 4, let id = PercentDecoding.decode(segments[3]), !id.isEmpty else { return nil }
            return .appPassword(user: user, id: id)
        }
        guard segments[2].elementsEqual("tasks".utf8) else { return nil }
        if segments.count == 3 { return .tasks(user: user) }
        guard let id = PercentDecoding.decode(segments[3]), !id.isEmpty else { return nil }
        // Task ids are digits, so the literal segment `changes` is never one.
        if segments.count == 4 { return segments[3].elementsEqual("changes".utf8) ? .changes(user: user) : .task(user: user, id: id) }
        guard segments[4].elementsEqual("complete".utf8) else { return nil }
        return .completion(user: user, id: id)
    }
}

/// The resources the API serves, as decoded from a request path.
public enum Route: Equatable, Sendable {
    /// `/health`
    case health
    /// `/api/{user_id}/tasks`
    case tasks(user: [UInt8])
    /// `/api/{user_id}/tasks/{id}`; the id is the decoded segment, validated later.
    case task(user: [UInt8], id: [UInt8])
    /// `/api/{user_id}/tasks/{id}/complete`
    case completion(user: [UInt8], id: [UInt8])

    /// The methods this resource answers, in `Allow` header order.
    public var allowedMethods: [String] {
        switch self {
        case .health: return ["GET", "HEAD"]
        case .tasks: return ["GET", "HEAD", "POST"]
        case .task: return ["GET", "HEAD", "PUT", "DELETE"]
        case .completion: return ["PATCH"]
        }
    }

    /// The decoded `{user_id}` of an API route; nil for `/health`, which belongs to nobody.
    public var owner: [UInt8]? {
        switch self {
        case .health: return nil
        case .tasks(let user), .task(let user, _), .completion(let user, _): return user
        }
    }

    /// A low-cardinality name for logs and metrics.
    public var template: String {
        switch self {
        case .health: return "/health"
        case .tasks: return "/api/{user_id}/tasks"
        case .task: return "/api/{user_id}/tasks/{id}"
        case .completion: return "/api/{user_id}/tasks/{id}/complete"
        }
    }
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
        guard rawPath.first == UInt8(ascii: "/") else { return nil }
        let segments = rawPath.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count >= 3, segments.count <= 5,
              segments[0].elementsEqual("api".utf8), segments[2].elementsEqual("tasks".utf8),
              let user = PercentDecoding.decode(segments[1]), !user.isEmpty else {
            return nil
        }
        if segments.count == 3 { return .tasks(user: user) }
        guard let id = PercentDecoding.decode(segments[3]), !id.isEmpty else { return nil }
        if segments.count == 4 { return .task(user: user, id: id) }
        guard segments[4].elementsEqual("complete".utf8) else { return nil }
        return .completion(user: user, id: id)
    }
}

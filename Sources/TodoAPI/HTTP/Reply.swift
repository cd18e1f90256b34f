import TaskModel

/// What answering one request produced: the response to send, and what the access log (and
/// metrics) say about it, which is never sent.
public struct Reply: Sendable {
    /// The response to write.
    public var response: HTTPResponse
    /// The route template, e.g. `/api/{user_id}/tasks`; nil when the path matched no route.
    public var routeTemplate: String?
    /// The authenticated user id, when the request got that far.
    public var authenticatedUser: String? { user?.id }
    /// The authenticated user, when the request got that far.
    public var user: AuthenticatedUser?
    /// Why the token was refused (`missing_token`, `expired`, …), when it was.
    public var authFailureReason: String?
    /// The kind of storage failure the request met, if any (`StorageError.Kind`'s name).
    public var storageFailure: String?
    /// Whether the request changed stored data (a committed write).
    public var committedWrite = false
}

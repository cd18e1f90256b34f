import APITables
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
    /// Why the token was refused, when it was.
    public var authFailureReason: AuthFailureReason?
    /// The kind of storage failure the request met, if any.
    public var storageFailure: StorageFailureKind?
    /// What the request changed in the store, as the store's outcome says (never inferred from
    /// the method or the status): nil for a read, a refusal, a replayed create or a merge that
    /// changed nothing. Set only once the store has committed the write.
    public var committedChange: CommittedChange?
    /// Whether the request changed stored data (a committed write): counted in the metrics and
    /// announced to the user's live-sync waiters.
    public var committedWrite: Bool { committedChange != nil }
    /// How the request ends: answered now, once what it committed (or read) is durable, or when
    /// its user's next change comes. The application decides, from its own store's outcome.
    public var ending: RequestEnding = .now

    /// The wait for the user's next change, when the request ends with one.
    public var changeWait: ChangeWait? {
        if case .untilChange(let wait) = ending { return wait }
        return nil
    }
}

/// How a request ends, as the application decides it; the server carries it out.
public enum RequestEnding: Sendable {
    /// `response` is the answer, at once.
    case now
    /// `response` is the answer once `wait` reports durable the commits it rests on (its own
    /// writes, or those its sync page shows); if the flush fails, `failure` (503) is.
    case afterDurable(any DurabilityWait, failure: HTTPResponse)
    /// The request waits for its user's next change (contract §13); `response` is the empty
    /// page it answers if none comes.
    case untilChange(ChangeWait)
    /// The database could not take the request, and carrying it out again is safe: nothing of it
    /// was done (no server takes writes: a failover or switchover is under way), or it is a
    /// create with an `Idempotency-Key`, which a second attempt replays if the first committed.
    /// The server carries it out again shortly, holding no thread meanwhile, until it is taken or
    /// the server's deadline passes; then `response` (503 with `Retry-After`) is the answer.
    case whenAvailable
}

/// What a committed write did to a user's tasks.
public enum CommittedChange: Sendable, Equatable {
    /// A new task.
    case created
    /// A task changed (replaced, merged, completed; with a recurring task's next occurrence).
    case updated
    /// A task deleted.
    case deleted
}

/// A sync request that found nothing after its cursor and asked to wait (`wait` > 0).
public struct ChangeWait: Sendable, Equatable {
    /// Whose changes end the wait.
    public var key: ChangeKey
    /// The key's marker read before the database was: the wait ends when it moves.
    public var marker: UInt64
    /// How long to wait at most, in seconds.
    public var seconds: Int
}

extension StorageFailureKind {
    /// The metrics' label of a storage failure of `kind`: one for one.
    init(_ kind: StorageError.Kind) {
        switch kind {
        case .unavailable: self = .unavailable
        case .busy: self = .busy
        case .conflict: self = .conflict
        case .incompatible: self = .incompatible
        case .internal: self = .internal
        }
    }
}

/// One thread's access to the tasks, always scoped to one owner: no operation reaches a row
/// whose `user_id` is not the one given. `TodoApplication` needs exactly this; each backend
/// implements it and throws only `StorageError`.
///
/// Reads reach the caller through `render`/`row` callbacks as `TaskRow` views valid only during
/// the call, so a backend can hand out its own buffers and a list is encoded without copies.
/// Writes return the stored row as a `StoredTask`. Every write also records a change for
/// incremental sync (`syncPage`), in the same transaction, and a write that changed a user's
/// tasks is announced to live sync (its backend's `ChangeFeed`) by the store itself once it is
/// durable. Stores render nothing: a keyed create stores the body the caller's `render` makes
/// of the row it inserted.
public protocol TaskStore: AppPasswordStore {
    /// Inserts a task for `userID` (both timestamps `now`, milliseconds). With `idempotency`,
    /// a key already stored for this user replays its response (same body) or is refused, and
    /// the key is stored with the new task in the same transaction, with the body `render`
    /// makes of the inserted row (what the client gets, byte for byte, on a replay).
    func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome
    /// The task `id`, rendered, if `userID` owns it, as of a snapshot that holds `consistency`.
    func find<Result>(userID: String, id: Int64, consistency: ReadConsistency,
                      render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// The task of `userID` with `key` (its resource name or UID), rendered, as of now.
    func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// Calls `row` for each task of one page of `userID`'s tasks and returns how many tasks
    /// match before paging; both from one snapshot, which holds `consistency`.
    func list(userID: String, query: TaskListQuery, consistency: ReadConsistency, row: (TaskRow) -> Void) throws(StorageError) -> Int64
    /// Reads the task, decides the write with `update.decide` and stores it (with the next
    /// occurrence of a completed recurring task), all in one transaction.
    func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome
    /// Deletes the task if `deletion` allows its version, leaving a tombstone for sync.
    func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome
    /// The changes of `userID` after position `since` (nil: every current task), oldest
    /// first, at most `limit` entries (tasks and deletions together), from a snapshot that holds
    /// `consistency` (and, on a replica, `since` itself: a cursor never goes backwards).
    func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency: ReadConsistency) throws(StorageError) -> SyncPage
    /// The database's sync cursor key (`SyncCursor`), the same for every worker of the database.
    func syncCursorKey() throws(StorageError) -> [UInt8]
    /// Throws when the database cannot serve reads, or (after a failed write) writes.
    func checkHealth() throws(StorageError)
    /// From now on this store's writes return once committed rather than once durable, when
    /// the backend makes the two differ (SQLite's group commit with its own WAL flush): the
    /// caller then takes each request's `takeDurabilityWait()` and acknowledges nothing before it
    /// completes. A sync page that moves its reader on waits too: it may show such a commit.
    /// Returns whether it does; false for a store whose writes are durable on return.
    func deferDurability() -> Bool
    /// The wait for the writes this store returned, and the commits its sync pages showed,
    /// since the last call (after `deferDurability()`); nil when there is nothing to wait for.
    func takeDurabilityWait() -> (any DurabilityWait)?
    /// The user's last change number as of the last write this store returned (created,
    /// replayed, updated, unchanged or deleted; nil after one that threw or was refused): a read
    /// at `.atLeast` of it sees that write. Nil for a backend whose reads all see every write
    /// (no replica to route reads to).
    var changeAfterLastWrite: Int64? { get }
}

/// An `Idempotency-Key` on a create: the key and the SHA-256 of the exact body bytes.
public struct IdempotencyKey: Sendable, Equatable {
    /// The key, 1...255 visible ASCII characters.
    public var key: String
    /// The SHA-256 of the request body, in hex.
    public var fingerprint: String

    /// A key with the fingerprint of its request's body.
    public init(key: String, fingerprint: String) {
        self.key = key
        self.fingerprint = fingerprint
    }

    /// How long a key replays: 48 h from its create (the contract promises at least 24 h).
    /// Older keys are never replayed nor refused, and are removed by later keyed creates.
    public static let retentionMilliseconds: Int64 = 48 * 3_600_000
    /// Expired keys of the user a keyed create removes at most, besides its own key's.
    public static let purgeBatch: Int64 = 100
}

/// What a create did.
public enum CreateOutcome: Sendable {
    /// A new task.
    case created(StoredTask)
    /// The key's earlier response: the task id and the exact body sent then.
    case replayed(taskID: Int64, body: [UInt8])
    /// The key was used with another body: 422.
    case keyReused
    /// Another request with the key is being processed: 409.
    case keyInUse
}

/// What an update did.
public enum UpdateOutcome: Sendable {
    /// No such task of this user: 404.
    case notFound
    /// Refused by `TaskUpdate.decide` (400 or 412); nothing changed.
    case refused(TaskUpdateDecision)
    /// A merge that changed nothing: the task as it is.
    case unchanged(StoredTask)
    /// The task after the write.
    case updated(StoredTask)
}

/// What a delete did.
public enum DeleteOutcome: Sendable, Equatable {
    /// Deleted.
    case deleted
    /// No such task of this user: 404.
    case notFound
    /// `If-Match` did not match: 412; nothing changed.
    case preconditionFailed
}

extension CreateOutcome {
    /// Whether the user's tasks changed: a new task (not a replay, not a refusal).
    public var changedTasks: Bool {
        if case .created = self { return true }
        return false
    }
}

extension UpdateOutcome {
    /// Whether the user's tasks changed: the task was written (not a merge that changed nothing).
    public var changedTasks: Bool {
        if case .updated = self { return true }
        return false
    }
}

extension DeleteOutcome {
    /// Whether the user's tasks changed: the task is gone.
    public var changedTasks: Bool { self == .deleted }
}

/// Renders a task as the body a client gets (the application's JSON); a store runs it inside
/// a keyed create's transaction, on whichever thread commits it.
public typealias TaskRenderer = @Sendable (TaskRow) -> [UInt8]

extension TaskStore {
    /// Inserts a task without an `Idempotency-Key` and returns it (nothing is rendered).
    public func create(userID: String, state: TaskState, now: Int64) throws(StorageError) -> StoredTask {
        guard case .created(let task) = try create(userID: userID, state: state, now: now, idempotency: nil, render: { _ in [] }) else {
            throw StorageError(.internal, "a create without a key did not create")
        }
        return task
    }
}

extension TaskStore {
    /// The task `id`, rendered, if `userID` owns it, as of now.
    public func find<Result>(userID: String, id: Int64, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        try find(userID: userID, id: id, consistency: .latest, render: render)
    }

    /// One page of `userID`'s tasks as of now, and how many match before paging.
    public func list(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        try list(userID: userID, query: query, consistency: .latest, row: row)
    }

    /// The changes of `userID` after `since`, as of now.
    public func syncPage(userID: String, since: SyncPosition?, limit: Int) throws(StorageError) -> SyncPage {
        try syncPage(userID: userID, since: since, limit: limit, consistency: .latest)
    }

    /// Every read sees every write: nothing for a token to carry.
    public var changeAfterLastWrite: Int64? { nil }
}

extension TaskStore {
    /// Writes are durable when they return.
    public func deferDurability() -> Bool { false }

    /// Nothing to wait for.
    public func takeDurabilityWait() -> (any DurabilityWait)? { nil }
}

/// Writes committed but not yet known durable: what acknowledging them waits for.
public protocol DurabilityWait: Sendable {
    /// Calls `body` once the writes are durable (true) or their flush failed (false, and they
    /// must not be acknowledged): at once, on this thread, when that is already known; otherwise
    /// later, on the thread whose flush covered them.
    func whenDurable(_ body: @escaping @Sendable (_ durable: Bool) -> Void)
}

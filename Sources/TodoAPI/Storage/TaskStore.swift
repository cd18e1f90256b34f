/// One thread's access to the tasks, always scoped to one owner: no operation reaches a row
/// whose `user_id` is not the one given. `TodoApplication` needs exactly this; each backend
/// implements it and throws only `StorageError`.
///
/// Reads reach the caller through `render`/`row` callbacks as `TaskRow` views valid only during
/// the call, so a backend can hand out its own buffers and a list is encoded without copies.
/// Writes return the stored row as a `StoredTask`. Every write also records a change for
/// incremental sync (`changes`), in the same transaction.
public protocol TaskStore: AnyObject {
    /// Inserts a task for `userID` (both timestamps `now`, milliseconds). With `idempotency`,
    /// a key already stored for this user replays its response (same body) or is refused, and
    /// the key is stored with the new task in the same transaction.
    func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?) throws(StorageError) -> CreateOutcome
    /// The task `id`, rendered, if `userID` owns it.
    func find<Result>(userID: String, id: Int64, render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// Calls `row` for each task of one page of `userID`'s tasks and returns how many tasks
    /// match before paging; both from one snapshot.
    func list(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(StorageError) -> Int64
    /// Reads the task, decides the write with `update.decide` and stores it (with the next
    /// occurrence of a completed recurring task), all in one transaction.
    func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome
    /// Deletes the task if `deletion` allows its version, leaving a tombstone for sync.
    func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome
    /// The changes of `userID` after position `since` (nil: every current task), oldest
    /// first, at most `limit` entries (tasks and deletions together).
    func changes(userID: String, since: SyncPosition?, limit: Int) throws(StorageError) -> SyncPage
    /// The database's sync cursor key (`SyncCursor`), the same for every worker of the database.
    func syncCursorKey() throws(StorageError) -> [UInt8]
    /// Throws when the database cannot serve reads, or (after a failed write) writes.
    func checkHealth() throws(StorageError)
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

/// Where a sync client stands, as its cursor says.
///
/// `change` is the last change it was given: the next page starts after it. `floor` is the
/// user's last change when the client's first sync began (carried through every page after):
/// the client never held a task deleted at or before it, so it needs only the deletions after
/// `max(change, floor)`. While the first sync pages through old tasks, `change` is far behind
/// the tombstones already purged, but the floor is not: a cursor the server issued is refused
/// as expired only when deletions made after it was issued have since been purged (30 days).
public struct SyncPosition: Sendable, Equatable {
    /// The last change given to the client.
    public var change: Int64
    /// Every deletion after this change is one the client may need.
    public var floor: Int64

    /// A position after `change`, needing deletions after `floor`.
    public init(change: Int64, floor: Int64) {
        self.change = change
        self.floor = floor
    }

    /// The first deletion the client may need comes after this change.
    public var needsDeletionsAfter: Int64 { max(change, floor) }
}

/// One page of changes for incremental sync.
public struct SyncPage: Sendable {
    /// Tasks created or changed after the cursor, in their current state, oldest change first.
    public var tasks: [StoredTask] = []
    /// Ids deleted after the cursor.
    public var deleted: [Int64] = []
    /// The position to resume after.
    public var cursor = SyncPosition(change: 0, floor: 0)
    /// Whether the page was full: calling again may find more.
    public var hasMore = false
    /// Why there is no page: the cursor is newer than any change of the user's (never issued),
    /// or older than the tombstones kept.
    public var refusal: Refusal?

    /// Why `since` cannot be served.
    public enum Refusal: Sendable, Equatable {
        /// Newer than any change of this user: never issued to them.
        case unknown
        /// Older than the oldest tombstone kept: sync from scratch.
        case expired
    }

    /// An empty page.
    public init() {}

    /// How long tombstones are kept at least (30 days); a cursor older than that is expired.
    public static let tombstoneRetentionMilliseconds: Int64 = 30 * 86_400_000

    /// Whether `since` can be served, given the user's last change and the newest change whose
    /// tombstone was purged: nil when it can, else why not. Checked before reading the changes.
    static func refusal(of since: SyncPosition, lastChange: Int64, purgedThrough: Int64) -> Refusal? {
        if since.change > lastChange || since.floor > lastChange { return .unknown }
        if since.needsDeletionsAfter < purgedThrough { return .expired }
        return nil
    }

    /// The page after `since` (nil: the first sync, which lists no deletions): `tasks` and
    /// `deletions` (each already ordered by change number, each at most `limit` long, read in
    /// one snapshot with `lastChange`) merged into at most `limit` entries, oldest change first.
    /// A first sync's floor is `lastChange`; later pages keep the floor they were given.
    static func assemble(since: SyncPosition?, lastChange: Int64, tasks: [(change: Int64, task: StoredTask)],
                         deletions: [(change: Int64, id: Int64)], limit: Int) -> SyncPage {
        var page = merge(tasks: tasks, deletions: deletions, limit: limit, since: since?.change ?? 0)
        page.cursor.floor = since?.floor ?? lastChange
        if !page.hasMore { page.cursor.change = lastChange }
        return page
    }

    /// Merges `tasks` and `deletions` (each already ordered by change number) into one page of
    /// at most `limit` entries, oldest change first; the cursor's change is the last one taken.
    private static func merge(tasks: [(change: Int64, task: StoredTask)], deletions: [(change: Int64, id: Int64)],
                              limit: Int, since: Int64) -> SyncPage {
        var page = SyncPage()
        page.cursor.change = since
        var taskIndex = 0
        var deletionIndex = 0
        var taken = 0
        while taken < limit, taskIndex < tasks.count || deletionIndex < deletions.count {
            let takeTask = deletionIndex >= deletions.count
                || (taskIndex < tasks.count && tasks[taskIndex].change < deletions[deletionIndex].change)
            if takeTask {
                page.tasks.append(tasks[taskIndex].task)
                page.cursor.change = tasks[taskIndex].change
                taskIndex += 1
            } else {
                page.deleted.append(deletions[deletionIndex].id)
                page.cursor.change = deletions[deletionIndex].change
                deletionIndex += 1
            }
            taken += 1
        }
        page.hasMore = taken == limit
        return page
    }
}

/// A database of tasks as a whole: what `serve` and the maintenance commands need, whatever
/// the backend. Shared by the threads of a process; each thread gets its own `TaskStore`.
public protocol TaskBackend: Sendable {
    /// Where the tasks are, for logs and messages; never contains a password.
    var displayName: String { get }
    /// Creates the database or upgrades its schema; safe when several processes run it at once.
    /// Returns the schema version.
    @discardableResult
    func migrate() throws(StorageError) -> Int64
    /// A store for the calling thread, over its own connection.
    func makeStore() throws(StorageError) -> any TaskStore
    /// Verifies the database (reachable, this build's schema, integrity) and describes it in
    /// one line; a database that does not exist yet is reported, not an error.
    func check() throws(StorageError) -> String
    /// Copies the live database, consistently, to `destination` (which must not exist) and
    /// describes the copy in one line.
    func backup(to destination: String) throws(StorageError) -> String
    /// Transactions this process committed (for metrics).
    var commits: Int { get }
    /// The database file, whose size the metrics report; nil for a server database.
    var databaseFile: String? { get }
    /// Calls `batch` with every task of every user, in id order, all from one snapshot, and
    /// returns the highest id the database ever issued (deleted tasks included).
    func exportTasks(_ batch: ([StoredTask]) throws(StorageError) -> Void) throws(StorageError) -> Int64
    /// Whether text with U+0000 can be stored (SQLite: yes, rows written before contract §11
    /// may hold it; PostgreSQL's text: no).
    var storesNUL: Bool { get }
    /// The ids of the tasks whose title, description or tags hold U+0000, in id order.
    func tasksHoldingNUL() throws(StorageError) -> [Int64]
    /// Starts copying tasks into this database, creating or migrating it first; refuses a
    /// database that already has tasks. Nothing is visible until `finish`.
    func makeImporter() throws(StorageError) -> any TaskImporter
}

/// Tasks being copied into a database, in one transaction (`todo-fcgi copy`).
public protocol TaskImporter: AnyObject {
    /// Inserts `tasks` with their ids, owners and timestamps unchanged.
    func insert(_ tasks: [StoredTask]) throws(StorageError)
    /// Commits the copy and leaves the id sequence past both `highestIssuedID` and every copied
    /// id, so no id is ever issued twice, with the source's sync cursor key (so a source cursor
    /// verifies here, and is then refused as expired rather than as forged); returns how many
    /// tasks were copied. Without it, nothing is copied.
    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8]) throws(StorageError) -> Int
}

/// A database of tasks as a whole: what `serve` and the maintenance commands need, whatever
/// the backend. Shared by the threads of a process; each thread gets its own `TaskStore`.
public protocol TaskBackend: Sendable {
    /// Where the tasks are, for logs and messages; never contains a password.
    var displayName: String { get }
    /// Creates the database or upgrades its schema; safe when several processes run it at once.
    /// Returns the schema version.
    /// `progress` hears how many schema versions of how many pending are applied, after each
    /// (not at all when the schema is current).
    @discardableResult
    func migrate(progress: (_ applied: Int, _ pending: Int) -> Void) throws(StorageError) -> Int64
    /// A store for the calling thread, over its own connection.
    func makeStore() throws(StorageError) -> any TaskStore
    /// The feed through which this process hears of every process's (and host's) committed
    /// changes, for live sync (contract §13); one per process.
    func makeChangeFeed() throws(StorageError) -> any ChangeFeed
    /// Verifies the database (reachable, this build's schema, integrity) and describes it in
    /// one line; a database that does not exist yet is reported, not an error.
    func check() throws(StorageError) -> String
    /// Copies the live database, consistently, to `destination` (a new file of mode 0600, never
    /// written through a symbolic link; an existing one is refused unless `replacing`: see
    /// `BackupFile`) and describes the copy in one line.
    /// `progress` hears how many bytes of about how many are written, when the backend can tell.
    func backup(to destination: String, replacing: Bool,
                progress: @escaping (_ written: Int64, _ total: Int64) -> Void) throws(StorageError) -> String
    /// Transactions this process committed (for metrics).
    var commits: Int { get }
    /// Times this process's connections waited for another process's write lock (for metrics).
    var busyRetries: Int { get }
    /// Connections this process made again after losing one, or after its server turned
    /// read-only (for metrics).
    var reconnections: Int { get }
    /// Of those, the ones that reached another server than the process's previous connection
    /// did: a failover or switchover (for metrics).
    var failovers: Int { get }
    /// The reads this process offered its replica (`--read-database`), and where they went.
    var replicaReads: ReplicaReadCounts { get }
    /// The database file, whose size the metrics report; nil for a server database.
    var databaseFile: String? { get }
    /// Starts watching the database file for being replaced or deleted, where there is one and
    /// the system can: stores made afterwards rely on the watch instead of checking the file
    /// before every operation, so the caller must drain it whenever its descriptor turns
    /// readable (`FileReplacementWatch`). Nil: nothing to watch; stores check for themselves.
    func watchFileReplacement() -> (any FileReplacementWatch)?
    /// Why this process can no longer serve the database safely and must exit (a failed flush of
    /// SQLite's WAL: see `GroupCommit`); nil while all is well. The server polls it.
    var fatalFailure: String? { get }
    /// Calls `each` with every task of every user, in id order, all from one snapshot, read as a
    /// stream (the row is valid only during the call), and returns the highest id the database
    /// ever issued (deleted tasks included).
    func exportTasks(_ each: (TaskRow) throws(StorageError) -> Void) throws(StorageError) -> Int64
    /// How many tasks the database holds, every user's.
    func countTasks() throws(StorageError) -> Int64
    /// Every user the database ever gave a change number (who may hold a sync cursor), whether
    /// or not they own tasks now; `copy` carries their counters over, so that each of their
    /// cursors is refused as expired on the destination.
    func usersWithSyncHistory() throws(StorageError) -> [String]
    /// Every user's app passwords (Addendum v2.2), in id order: `copy` carries them, so apps
    /// stay signed in after a move.
    func exportAppPasswords() throws(StorageError) -> [StoredAppPassword]
    /// Counts every owner's tasks again into their counters (`TaskCounts`), writers held off
    /// meanwhile, and returns how many users' counters were off (0: nothing was changed).
    func recountTasks() throws(StorageError) -> Int64
    /// Whether text with U+0000 can be stored (SQLite: yes, rows written before contract §11
    /// may hold it; PostgreSQL's text: no).
    var storesNUL: Bool { get }
    /// The ids of the tasks whose title, description or tags hold U+0000, in id order.
    func tasksHoldingNUL() throws(StorageError) -> [Int64]
    /// Starts copying tasks into this database, creating or migrating it first; refuses a
    /// database that has tasks or any history (sync counters, tombstones, idempotency keys),
    /// naming what it holds. Nothing is visible until `finish`.
    func makeImporter() throws(StorageError) -> any TaskImporter
}

/// Tasks being copied into a database, in one transaction (`todo-fcgi copy`).
public protocol TaskImporter: AnyObject {
    /// Inserts the tasks of `batch` with their ids, owners and timestamps unchanged, storing
    /// what each row holds (derived columns included: see `TaskRow.forEachStoredValue`).
    func insert(_ batch: StoredRowBatch) throws(StorageError)
    /// Commits the copy and leaves the id sequence past both `highestIssuedID` and every copied
    /// id, so no id is ever issued twice, with the source's sync cursor key (so a source cursor
    /// verifies here, and is then refused as expired rather than as forged); returns how many
    /// tasks were copied. Every owner of a copied task and every user of `syncUsers` gets a
    /// change counter past any number the source could have issued, with nothing before it
    /// kept, so every cursor of the source is 410 here. Without it, nothing is copied.
    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8], syncUsers: [String],
                appPasswords: [StoredAppPassword]) throws(StorageError) -> Int
}

/// Events about a database file, read through a descriptor the caller's event loop watches.
public protocol FileReplacementWatch: AnyObject, Sendable {
    /// Readable while events are pending.
    var descriptor: Int32 { get }
    /// Reads the pending events; called by one thread at a time, before that thread hands out any
    /// request that arrived after the descriptor turned readable.
    func drain()
}

extension TaskBackend {
    /// Nothing to watch: a server database, or memory.
    public func watchFileReplacement() -> (any FileReplacementWatch)? { nil }

    /// Nothing is ever fatal.
    public var fatalFailure: String? { nil }

    /// No lock shared with other processes to wait for.
    public var busyRetries: Int { 0 }

    /// No connection to lose.
    public var reconnections: Int { 0 }

    /// No server to change.
    public var failovers: Int { 0 }

    /// No replica.
    public var replicaReads: ReplicaReadCounts { ReplicaReadCounts() }

    /// Counts computed on every read: nothing to recount.
    public func recountTasks() throws(StorageError) -> Int64 { 0 }

    /// Creates the database or upgrades its schema, silently; returns the schema version.
    @discardableResult
    public func migrate() throws(StorageError) -> Int64 {
        try migrate { _, _ in }
    }
}

/// What a `copy` destination must not hold: each table that keeps tasks or their history, with
/// what its rows are called. Both databases count them with `countSQL`; memory in this order.
public enum CopyDestination {
    /// The tables, in the order of `countSQL`'s columns.
    public static let tables: [(name: String, holds: String)] = [
        ("tasks", "tasks"), ("task_sync", "users with sync history"), ("task_tombstones", "deletions kept for sync"),
        ("idempotency_keys", "idempotency keys"), ("app_passwords", "app passwords"),
    ]

    /// One row: the number of rows of each table of `tables`.
    public static let countSQL = "SELECT " + tables.map { "(SELECT count(*) FROM \($0.name))" }.joined(separator: ", ")

    /// The refusal of a copy into the database `name`, whose tables hold `counts` rows (in the
    /// order of `tables`), naming what it holds; nil when it is empty.
    public static func refusal(_ name: String, counts: [Int64]) -> StorageError? {
        let held = zip(counts, tables).filter { $0.0 > 0 }
        guard !held.isEmpty else { return nil }
        return StorageError(.conflict, "\(name) already holds " + held.map { "\($0.0) \($0.1.holds)" }.joined(separator: ", ")
            + ": copy only into an empty database (a new file, or a new PostgreSQL database)")
    }
}

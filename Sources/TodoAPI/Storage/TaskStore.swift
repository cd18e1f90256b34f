/// One thread's access to the tasks, always scoped to one owner: no operation reaches a row
/// whose `user_id` is not the one given. `TodoApplication` needs exactly this; each backend
/// (SQLite, and later a server database) implements it and throws only `StorageError`.
///
/// Rows reach the caller through `render`/`row` callbacks as `TaskRow` views valid only during
/// the call, so a backend can hand out its own buffers and a list is encoded without copies.
public protocol TaskStore: AnyObject {
    /// Inserts a task for `userID` (both timestamps `now`, milliseconds) and renders the stored row.
    func create<Result>(userID: String, draft: TaskDraft, now: Int64,
                        render: (TaskRow) -> Result) throws(StorageError) -> Result
    /// The task `id`, rendered, if `userID` owns it.
    func find<Result>(userID: String, id: Int64, render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// Calls `row` for each task of one page of `userID`'s tasks and returns how many tasks
    /// match before paging; both from one snapshot.
    func list(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(StorageError) -> Int64
    /// Replaces title and description (and completion when given); nil when `userID` has no such task.
    func replace<Result>(userID: String, id: Int64, draft: TaskDraft, now: Int64,
                         render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// Sets `completed`, or toggles it when nil; nil when `userID` has no such task.
    func setCompleted<Result>(userID: String, id: Int64, completed: Bool?, now: Int64,
                              render: (TaskRow) -> Result) throws(StorageError) -> Result?
    /// Deletes the task; false when `userID` has no such task.
    func delete(userID: String, id: Int64) throws(StorageError) -> Bool
    /// Throws when the database cannot serve reads, or (after a failed write) writes.
    func checkHealth() throws(StorageError)
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
    /// Starts copying tasks into this database, creating or migrating it first; refuses a
    /// database that already has tasks. Nothing is visible until `finish`.
    func makeImporter() throws(StorageError) -> any TaskImporter
}

/// Tasks being copied into a database, in one transaction (`todo-fcgi copy`).
public protocol TaskImporter: AnyObject {
    /// Inserts `tasks` with their ids, owners and timestamps unchanged.
    func insert(_ tasks: [StoredTask]) throws(StorageError)
    /// Commits the copy and leaves the id sequence past both `highestIssuedID` and every copied
    /// id, so no id is ever issued twice; returns how many tasks were copied. Without it,
    /// nothing is copied.
    func finish(highestIssuedID: Int64) throws(StorageError) -> Int
}

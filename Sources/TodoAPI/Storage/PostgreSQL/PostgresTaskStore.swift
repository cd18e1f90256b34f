import Clocks
import PostgreSQL

/// The PostgreSQL `TaskStore`. Every request is one pipeline — the owner set for the
/// transaction, then the statement, which is filtered by the owner too — so it costs one round
/// trip and runs as one transaction. PostgreSQL's errors become `StorageError`s here.
///
/// A lost connection (server restarted, network cut) fails the request in progress as
/// "unavailable" (503); the next request reconnects, no sooner than an exponential backoff
/// allows (`reconnectDelay`), so an outage is answered at once instead of by hanging threads.
///
/// Not Sendable: it owns one thread's connection.
public final class PostgresTaskStore: TaskStore {
    private let connectionString: String
    private let connect: (String) throws(StorageError) -> PostgresConnection
    private let commits: CommitCounter
    private var connection: PostgresConnection?
    private var retryAt: UInt64 = 0
    private var backoffNanoseconds: UInt64 = 0

    /// The first wait after a failed connection attempt, doubled each time up to `maximumBackoff`.
    static let minimumBackoff: UInt64 = 50_000_000
    /// The longest wait between connection attempts.
    static let maximumBackoff: UInt64 = 2_000_000_000

    private static let columns = TaskRow.columnList

    /// A store that connects with `connectionString` when first used.
    init(connectionString: String, commits: CommitCounter,
         connect: @escaping (String) throws(StorageError) -> PostgresConnection = PostgresTaskStore.serving) {
        self.connectionString = connectionString
        self.commits = commits
        self.connect = connect
    }

    /// Connects for serving: the schema must be this build's, exports stay off for the session,
    /// and a commit is acknowledged only once it is durable (`synchronous_commit` never `off`).
    static func serving(_ connectionString: String) throws(StorageError) -> PostgresConnection {
        let connection: PostgresConnection
        let version: Int64
        do {
            connection = try PostgresConnection(connectionString: connectionString)
            version = try PostgresSchema.installedVersion(connection)
            try connection.execute("""
                SELECT set_config('todo.export', 'off', false);
                SELECT CASE WHEN current_setting('synchronous_commit') = 'off' THEN set_config('synchronous_commit', 'on', false) END
                """)
        } catch {
            throw StorageError(error)
        }
        guard version == PostgresSchema.version else {
            throw StorageError(.incompatible, "the database schema version is \(version), expected "
                + "\(PostgresSchema.version): run `todo-fcgi migrate`")
        }
        return connection
    }

    /// The connection, made now if there is none and the backoff allows.
    private func liveConnection() throws(StorageError) -> PostgresConnection {
        if let connection, connection.isConnected { return connection }
        connection = nil
        let now = MonotonicClock.nanoseconds()
        guard now >= retryAt else {
            throw StorageError(.unavailable, "PostgreSQL is unreachable; the next attempt is in \((retryAt - now) / 1_000_000) ms")
        }
        do {
            let fresh = try connect(connectionString)
            connection = fresh
            backoffNanoseconds = 0
            return fresh
        } catch {
            backoffNanoseconds = min(max(backoffNanoseconds * 2, Self.minimumBackoff), Self.maximumBackoff)
            retryAt = MonotonicClock.nanoseconds() + backoffNanoseconds
            throw error
        }
    }

    /// Runs `statement` with `parameters` for `userID`, in one round trip and one transaction,
    /// and returns its result.
    private func run(_ userID: String, _ statement: String, _ parameters: [String?], write: Bool) throws(StorageError) -> PostgresResult {
        let connection = try liveConnection()
        do {
            let results = try connection.pipeline([.init(PostgresSchema.setOwner, [userID]), .init(statement, parameters)])
            if write { commits.add() }
            return results[1]
        } catch {
            if error.connectionLost { self.connection = nil }
            throw StorageError(error)
        }
    }

    public func create<Result>(userID: String, draft: TaskDraft, now: Int64,
                               render: (TaskRow) -> Result) throws(StorageError) -> Result {
        let result = try run(userID, """
            INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING \(Self.columns)
            """, [userID, draft.title, SQLiteTaskStore.sortKey(draft.title), draft.description,
                  String(draft.completed ?? false), String(now)], write: true)
        guard result.rowCount == 1 else { throw StorageError(.internal, "INSERT … RETURNING returned no row") }
        return render(TaskRow(result: result, row: 0))
    }

    public func find<Result>(userID: String, id: Int64, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let result = try run(userID, Self.findSQL, [String(id), userID], write: false)
        return result.rowCount == 1 ? render(TaskRow(result: result, row: 0)) : nil
    }

    public func list(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        let result = try run(userID, Self.listSQL(query), [userID, String(query.limit), String(query.offset)], write: false)
        guard result.rowCount > 0 else { return 0 }
        for index in 0..<result.rowCount where !result.isNull(row: index, column: 0) {
            row(TaskRow(result: result, row: index))
        }
        return result.int64(row: 0, column: 7)
    }

    public func replace<Result>(userID: String, id: Int64, draft: TaskDraft, now: Int64,
                                render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let result = try run(userID, """
            UPDATE tasks SET title = $3, title_key = $4, description = $5, completed = coalesce($6::boolean, completed),
                updated_at = greatest($7::bigint, updated_at + 1)
            WHERE id = $1 AND user_id = $2 RETURNING \(Self.columns)
            """, [String(id), userID, draft.title, SQLiteTaskStore.sortKey(draft.title), draft.description,
                  draft.completed.map { String($0) }, String(now)], write: true)
        return result.rowCount == 1 ? render(TaskRow(result: result, row: 0)) : nil
    }

    public func setCompleted<Result>(userID: String, id: Int64, completed: Bool?, now: Int64,
                                     render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let result = try run(userID, """
            UPDATE tasks SET completed = coalesce($3::boolean, NOT completed), updated_at = greatest($4::bigint, updated_at + 1)
            WHERE id = $1 AND user_id = $2 RETURNING \(Self.columns)
            """, [String(id), userID, completed.map { String($0) }, String(now)], write: true)
        return result.rowCount == 1 ? render(TaskRow(result: result, row: 0)) : nil
    }

    public func delete(userID: String, id: Int64) throws(StorageError) -> Bool {
        let result = try run(userID, "DELETE FROM tasks WHERE id = $1 AND user_id = $2", [String(id), userID], write: true)
        return result.affectedRows > 0
    }

    /// Reads from the tasks table (no owner set, so no row is visible): the server answers, the
    /// schema is there and the role may read it.
    public func checkHealth() throws(StorageError) {
        _ = try run("", "SELECT 1 FROM tasks LIMIT 1", [], write: false)
    }

    /// The statement `find` runs (`$1` id, `$2` user).
    public static let findSQL = "SELECT \(columns) FROM tasks WHERE id = $1 AND user_id = $2"

    /// The statement a list runs (`$1` user, `$2` limit, `$3` offset): the page and the count of
    /// the user's matching tasks in one statement, so both come from one snapshot, in one round
    /// trip. The count comes on every row (column 7); an empty page is one row of NULL tasks.
    /// Built from enums only, never from input text.
    public static func listSQL(_ query: TaskListQuery) -> String {
        let filter: String
        switch query.status {
        case .all: filter = ""
        case .pending: filter = " AND NOT completed"
        case .completed: filter = " AND completed"
        }
        let sortColumn: String
        switch query.sort {
        case .created: sortColumn = "created_at"
        case .updated: sortColumn = "updated_at"
        case .title: sortColumn = "title_key"
        }
        let direction = query.order == .asc ? "ASC" : "DESC"
        return """
            SELECT page.id, page.user_id, page.title, page.description, page.completed, page.created_at, page.updated_at, matching.total
            FROM (SELECT count(*) AS total FROM tasks WHERE user_id = $1\(filter)) AS matching
            LEFT JOIN LATERAL (
                SELECT \(columns), title_key FROM tasks WHERE user_id = $1\(filter)
                ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT $2 OFFSET $3
            ) AS page ON true
            ORDER BY page.\(sortColumn) \(direction), page.id \(direction)
            """
    }
}

extension StorageError {
    /// The storage error a PostgreSQL failure means.
    init(_ error: PostgresError) {
        let kind: Kind
        if error.isUnavailable {
            kind = .unavailable
        } else if error.isBusy {
            kind = .busy
        } else if error.isConstraintViolation {
            kind = .conflict
        } else {
            kind = .internal
        }
        self.init(kind, error.description)
    }
}

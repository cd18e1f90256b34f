import SQLite

/// The SQLite `TaskStore`. Every statement is filtered by the owner, so a task id alone never
/// reaches another user's row; SQLite's errors become `StorageError`s here and nowhere else.
///
/// Not Sendable: it owns one thread's SQLite connection and its cached statements.
public final class SQLiteTaskStore: TaskStore {
    private let connection: SQLiteConnection
    private let committer: GroupCommit
    private let health: WriteHealth
    private let file: DatabaseFile?
    private let identity: DatabaseFile.Identity?

    private static let columns = TaskRow.columnList

    /// Wraps an open, migrated connection; threads of one process share `committer` and
    /// `health`. With `file`, every operation first checks that the file at the path is still
    /// the one open.
    init(connection: SQLiteConnection, committer: GroupCommit = GroupCommit(), health: WriteHealth = WriteHealth(),
         file: DatabaseFile? = nil) {
        self.connection = connection
        self.committer = committer
        self.health = health
        self.file = file
        self.identity = file?.currentIdentity()
    }

    /// Throws "unavailable" when the database file is gone or was replaced by another file.
    ///
    /// A replaced file is never reopened: when the last connection to the old file closes, SQLite
    /// checkpoints and deletes `-wal`/`-shm` by path — paths the new file's connections would be
    /// using by then. Restoring is stop → restore → start (docs/OPERATIONS.md).
    private func ensureCurrentFile() throws(StorageError) {
        guard let file else { return }
        guard let current = file.currentIdentity() else {
            throw StorageError(.unavailable, "the database file \(file.options.path) is missing")
        }
        guard current != identity else { return }
        throw StorageError(.unavailable, "the database file \(file.options.path) was replaced while the service runs; "
            + "restart the service to use the new file")
    }

    /// Runs `body` and turns SQLite's failure into the storage error it means.
    private func mapped<Result>(_ body: () throws(SQLiteError) -> Result) throws(StorageError) -> Result {
        do {
            return try body()
        } catch {
            throw StorageError(error)
        }
    }

    /// A convenience for tools and tests: a store of its own over `connection`.
    public convenience init(connection: SQLiteConnection) {
        self.init(connection: connection, committer: GroupCommit())
    }

    /// Runs a write in a group commit (after the file check), returns once it is durable, and
    /// records whether the database accepts writes (which `/health` reports).
    private func write(_ body: @escaping GroupedWrite) throws(StorageError) -> WriteOutcome {
        try ensureCurrentFile()
        return try mapped { () throws(SQLiteError) -> WriteOutcome in try committed(body) }
    }

    private func committed(_ body: @escaping GroupedWrite) throws(SQLiteError) -> WriteOutcome {
        do {
            let outcome = try committer.perform(on: connection, body)
            health.record(writeSucceeded: true)
            return outcome
        } catch {
            if error.isUnavailable { health.record(writeSucceeded: false) }
            throw error
        }
    }

    /// Inserts a task for `userID` (both timestamps `now`) and renders the stored row with `render`.
    public func create<Result>(userID: String, draft: TaskDraft, now: Int64,
                               render: (TaskRow) -> Result) throws(StorageError) -> Result {
        let outcome = try write { connection throws(SQLiteError) in
            let statement = try connection.cachedStatement("""
                INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING \(Self.columns)
                """)
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            try statement.bind(draft.title, at: 2)
            try statement.bind(Self.sortKey(draft.title), at: 3)
            try statement.bind(draft.description, at: 4)
            try statement.bind(draft.completed ?? false, at: 5)
            try statement.bind(now, at: 6)
            return .task(try Self.storedRow(statement))
        }
        guard case .task(let created?) = outcome else { throw StorageError(.internal, "INSERT … RETURNING returned no row") }
        return render(TaskRow(stored: created))
    }

    /// The task `id`, rendered with `render`, if `userID` owns it.
    public func find<Result>(userID: String, id: Int64, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        try ensureCurrentFile()
        return try mapped { () throws(SQLiteError) -> Result? in
            let statement = try connection.cachedStatement(Self.findSQL)
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            return try Self.singleRow(statement, render)
        }
    }

    /// Calls `row` for each task of one page of `userID`'s tasks and returns the number of
    /// matching tasks before paging; both come from one snapshot.
    public func list(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        try ensureCurrentFile()
        return try mapped { () throws(SQLiteError) -> Int64 in try listPage(userID: userID, query: query, row: row) }
    }

    private func listPage(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(SQLiteError) -> Int64 {
        let sql = Self.listSQL(query)
        try transaction("BEGIN DEFERRED")
        do {
            let page = try connection.cachedStatement(sql.page)
            defer { page.reset() }
            try page.bind(userID, at: 1)
            try page.bind(Int64(query.limit), at: 2)
            try page.bind(query.offset, at: 3)
            let view = TaskRow(statement: page)
            var rows = 0
            while try page.step() {
                row(view)
                rows += 1
            }
            // A partial, non-empty page already tells the total: no count query needed.
            var total = query.offset + Int64(rows)
            if rows == query.limit || (rows == 0 && query.offset > 0) {
                let count = try connection.cachedStatement(sql.count)
                defer { count.reset() }
                try count.bind(userID, at: 1)
                total = try count.step() ? count.int64(at: 0) : 0
            }
            try transaction("COMMIT")
            return total
        } catch {
            try? transaction("ROLLBACK")
            throw error
        }
    }

    /// Replaces title and description (and completion when given) and renders the result;
    /// nil when `userID` has no such task.
    public func replace<Result>(userID: String, id: Int64, draft: TaskDraft, now: Int64,
                                render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let outcome = try write { connection throws(SQLiteError) in
            let statement = try connection.cachedStatement("""
                UPDATE tasks SET title = ?3, title_key = ?4, description = ?5, completed = coalesce(?6, completed),
                    updated_at = max(?7, updated_at + 1)
                WHERE id = ?1 AND user_id = ?2 RETURNING \(Self.columns)
                """)
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            try statement.bind(draft.title, at: 3)
            try statement.bind(Self.sortKey(draft.title), at: 4)
            try statement.bind(draft.description, at: 5)
            if let completed = draft.completed { try statement.bind(completed, at: 6) } else { try statement.bindNull(at: 6) }
            try statement.bind(now, at: 7)
            return .task(try Self.storedRow(statement))
        }
        guard case .task(let replaced) = outcome else { return nil }
        return replaced.map { render(TaskRow(stored: $0)) }
    }

    /// Sets `completed`, or toggles it when `completed` is nil, and renders the result;
    /// nil when `userID` has no such task.
    public func setCompleted<Result>(userID: String, id: Int64, completed: Bool?, now: Int64,
                                     render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let outcome = try write { connection throws(SQLiteError) in
            let statement = try connection.cachedStatement("""
                UPDATE tasks SET completed = coalesce(?3, 1 - completed), updated_at = max(?4, updated_at + 1)
                WHERE id = ?1 AND user_id = ?2 RETURNING \(Self.columns)
                """)
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            if let completed { try statement.bind(completed, at: 3) } else { try statement.bindNull(at: 3) }
            try statement.bind(now, at: 4)
            return .task(try Self.storedRow(statement))
        }
        guard case .task(let changed) = outcome else { return nil }
        return changed.map { render(TaskRow(stored: $0)) }
    }

    /// Deletes the task; false when `userID` has no such task.
    public func delete(userID: String, id: Int64) throws(StorageError) -> Bool {
        let outcome = try write { connection throws(SQLiteError) in
            let statement = try connection.cachedStatement("DELETE FROM tasks WHERE id = ?1 AND user_id = ?2")
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            try statement.run()
            return .deleted(connection.changes > 0)
        }
        guard case .deleted(let found) = outcome else { return false }
        return found
    }

    /// Reads from the tasks table, so a missing, replaced, locked-out or corrupt database fails
    /// here. After a write failed for want of space or permission, it also tries a small write
    /// (rewriting the schema version), so health turns good again only once writes work; at
    /// most one such probe per second per process (`WriteHealth`), whatever the request rate.
    public func checkHealth() throws(StorageError) {
        try ensureCurrentFile()
        try mapped { () throws(SQLiteError) in
            let statement = try connection.cachedStatement("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)")
            defer { statement.reset() }
            _ = try statement.step()
        }
        guard health.writesFailing else { return }
        try mapped { () throws(SQLiteError) in try probeWrite() }
    }

    private func probeWrite() throws(SQLiteError) {
        try health.probeIfDue { () throws(SQLiteError) in
            _ = try committed { connection throws(SQLiteError) in
                try connection.execute("PRAGMA user_version = \(TaskDatabase.schemaVersion)")
                return .done
            }
        }
    }

    /// The statements a list runs for `query`: a page (`?1` user, `?2` limit, `?3` offset) and the
    /// count of the user's matching tasks (`?1`). Built from enums only, never from input text;
    /// public so `todo-bench plans` shows the query plans of exactly these statements.
    public static func listSQL(_ query: TaskListQuery) -> (page: String, count: String) {
        let filter: String
        switch query.status {
        case .all: filter = ""
        case .pending: filter = " AND completed = 0"
        case .completed: filter = " AND completed = 1"
        }
        let sortColumn: String
        switch query.sort {
        case .created: sortColumn = "created_at"
        case .updated: sortColumn = "updated_at"
        case .title: sortColumn = "title_key"
        }
        let direction = query.order == .asc ? "ASC" : "DESC"
        return (page: """
                    SELECT \(columns) FROM tasks WHERE user_id = ?1\(filter)
                    ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT ?2 OFFSET ?3
                    """,
                count: "SELECT count(*) FROM tasks WHERE user_id = ?1\(filter)")
    }

    /// The statement `find` runs (`?1` id, `?2` user).
    public static let findSQL = "SELECT \(columns) FROM tasks WHERE id = ?1 AND user_id = ?2"

    private func transaction(_ sql: String) throws(SQLiteError) {
        try connection.cachedStatement(sql).run()
    }

    /// Copies the statement's only row, then runs the statement to completion (a write with
    /// RETURNING is done only when its statement is).
    private static func storedRow(_ statement: SQLiteStatement) throws(SQLiteError) -> StoredTask? {
        guard try statement.step() else { return nil }
        let row = StoredTask(statement: statement)
        while try statement.step() {}
        return row
    }

    /// Renders the statement's only row, then runs the statement to completion.
    private static func singleRow<Result>(_ statement: SQLiteStatement,
                                          _ render: (TaskRow) -> Result) throws(SQLiteError) -> Result? {
        guard try statement.step() else { return nil }
        let result = render(TaskRow(statement: statement))
        while try statement.step() {}
        return result
    }

    /// Case-insensitive sort key for titles (full Unicode lowercase mapping).
    static func sortKey(_ title: String) -> String {
        title.lowercased()
    }
}

extension StorageError {
    /// The storage error an SQLite failure means.
    init(_ error: SQLiteError) {
        let kind: Kind
        if error.isBusy {
            kind = .busy
        } else if error.isUnavailable {
            kind = .unavailable
        } else if error.isConstraintViolation {
            kind = .conflict
        } else {
            kind = .internal
        }
        self.init(kind, error.description)
    }
}

import SQLite

/// The user-scoped task repository. Every statement is filtered by the owner,
/// so a task id alone never reaches another user's row.
///
/// Not Sendable: it owns one thread's SQLite connection and its cached statements.
public final class TaskStore {
    private let connection: SQLiteConnection

    private static let columns = "id, user_id, title, description, completed, created_at, updated_at"

    /// Wraps an open, migrated connection.
    public init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Inserts a task for `userID` and returns it; both timestamps are `now`.
    public func create(userID: String, draft: TaskDraft, now: Int64) throws(SQLiteError) -> TodoTask {
        let statement = try connection.cachedStatement("""
            INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id
            """)
        defer { statement.reset() }
        let completed = draft.completed ?? false
        try statement.bind(userID, at: 1)
        try statement.bind(draft.title, at: 2)
        try statement.bind(Self.sortKey(draft.title), at: 3)
        try statement.bind(draft.description, at: 4)
        try statement.bind(completed, at: 5)
        try statement.bind(now, at: 6)
        guard try statement.step() else {
            throw SQLiteError(code: 1, message: "INSERT returned no id", sql: statement.sql)
        }
        let id = statement.int64(at: 0)
        return TodoTask(id: id, userID: userID, title: draft.title, description: draft.description,
                        completed: completed, createdAt: now, updatedAt: now)
    }

    /// The task `id` if `userID` owns it.
    public func find(userID: String, id: Int64) throws(SQLiteError) -> TodoTask? {
        let statement = try connection.cachedStatement("SELECT \(Self.columns) FROM tasks WHERE id = ?1 AND user_id = ?2")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(userID, at: 2)
        return try statement.step() ? Self.task(from: statement) : nil
    }

    /// One page of `userID`'s tasks and the number of matching tasks before paging, from one snapshot.
    public func list(userID: String, query: TaskListQuery) throws(SQLiteError) -> (tasks: [TodoTask], total: Int64) {
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

        try transaction("BEGIN DEFERRED")
        do {
            let count = try connection.cachedStatement("SELECT count(*) FROM tasks WHERE user_id = ?1\(filter)")
            defer { count.reset() }
            try count.bind(userID, at: 1)
            let total = try count.step() ? count.int64(at: 0) : 0

            let page = try connection.cachedStatement("""
                SELECT \(Self.columns) FROM tasks WHERE user_id = ?1\(filter)
                ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT ?2 OFFSET ?3
                """)
            defer { page.reset() }
            try page.bind(userID, at: 1)
            try page.bind(Int64(query.limit), at: 2)
            try page.bind(query.offset, at: 3)
            var tasks: [TodoTask] = []
            tasks.reserveCapacity(min(query.limit, Int(total)))
            while try page.step() {
                tasks.append(Self.task(from: page))
            }
            try transaction("COMMIT")
            return (tasks, total)
        } catch {
            try? transaction("ROLLBACK")
            throw error
        }
    }

    /// Replaces title and description (and completion when given); nil when `userID` has no such task.
    public func replace(userID: String, id: Int64, draft: TaskDraft, now: Int64) throws(SQLiteError) -> TodoTask? {
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
        return try statement.step() ? Self.task(from: statement) : nil
    }

    /// Sets `completed`, or toggles it when `completed` is nil; nil when `userID` has no such task.
    public func setCompleted(userID: String, id: Int64, completed: Bool?, now: Int64) throws(SQLiteError) -> TodoTask? {
        let statement = try connection.cachedStatement("""
            UPDATE tasks SET completed = coalesce(?3, 1 - completed), updated_at = max(?4, updated_at + 1)
            WHERE id = ?1 AND user_id = ?2 RETURNING \(Self.columns)
            """)
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(userID, at: 2)
        if let completed { try statement.bind(completed, at: 3) } else { try statement.bindNull(at: 3) }
        try statement.bind(now, at: 4)
        return try statement.step() ? Self.task(from: statement) : nil
    }

    /// Deletes the task; false when `userID` has no such task.
    public func delete(userID: String, id: Int64) throws(SQLiteError) -> Bool {
        let statement = try connection.cachedStatement("DELETE FROM tasks WHERE id = ?1 AND user_id = ?2")
        try statement.bind(id, at: 1)
        try statement.bind(userID, at: 2)
        try statement.run()
        return connection.changes > 0
    }

    /// Reads from the tasks table, so a missing, locked-out or corrupt database fails here.
    public func checkHealth() throws(SQLiteError) {
        let statement = try connection.cachedStatement("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)")
        defer { statement.reset() }
        _ = try statement.step()
    }

    private func transaction(_ sql: String) throws(SQLiteError) {
        try connection.cachedStatement(sql).run()
    }

    /// Case-insensitive sort key for titles (full Unicode lowercase mapping).
    static func sortKey(_ title: String) -> String {
        title.lowercased()
    }

    private static func task(from row: SQLiteStatement) -> TodoTask {
        TodoTask(id: row.int64(at: 0), userID: row.string(at: 1) ?? "", title: row.string(at: 2) ?? "",
                 description: row.string(at: 3), completed: row.int64(at: 4) != 0,
                 createdAt: row.int64(at: 5), updatedAt: row.int64(at: 6))
    }
}

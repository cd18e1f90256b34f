import PostgreSQL

/// `copy` for PostgreSQL: every user's tasks out through the export policy, and tasks in, each
/// under its own owner so the row-level security check holds for every row.
extension PostgresBackend {
    /// Tasks per batch, and per round trip on the way in.
    static let transferBatchSize = 1000

    public func exportTasks(_ batch: ([StoredTask]) throws(StorageError) -> Void) throws(StorageError) -> Int64 {
        let connection = try connect()
        // One snapshot for every batch and the sequence; the export policy opens for this
        // transaction only.
        try Self.mapped { () throws(PostgresError) in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL todo.export = 'on'")
        }
        defer { try? connection.execute("COMMIT") }
        var after: Int64 = 0
        while true {
            let tasks = try Self.mapped { () throws(PostgresError) -> [StoredTask] in
                let result = try connection.query("SELECT \(TaskRow.columnList) FROM tasks WHERE id > $1 ORDER BY id LIMIT $2",
                                                  [String(after), String(Self.transferBatchSize)])
                return (0..<result.rowCount).map { StoredTask(TaskRow(result: result, row: $0)) }
            }
            guard let last = tasks.last else { break }
            after = last.id
            try batch(tasks)
        }
        return try Self.mapped { () throws(PostgresError) -> Int64 in
            try connection.query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tasks_id_seq").int64(row: 0, column: 0)
        }
    }

    public func makeImporter() throws(StorageError) -> any TaskImporter {
        try migrate()
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> any TaskImporter in
            // No writer may slip in between the emptiness check and the commit.
            try connection.execute("BEGIN; LOCK TABLE tasks IN EXCLUSIVE MODE; SET LOCAL todo.export = 'on'")
            let existing = try connection.query("SELECT count(*) FROM tasks").int64(row: 0, column: 0)
            guard existing == 0 else {
                try connection.execute("ROLLBACK")
                throw PostgresError(sqlState: "23000", message: "\(displayName) already has \(existing) tasks: copy only into an empty database")
            }
            return PostgresTaskImporter(connection: connection)
        }
    }
}

/// Inserts copied tasks into PostgreSQL inside one transaction, a batch per round trip.
final class PostgresTaskImporter: TaskImporter {
    private let connection: PostgresConnection
    private var count = 0
    private var finished = false

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    deinit {
        if !finished { try? connection.execute("ROLLBACK") }
    }

    func insert(_ tasks: [StoredTask]) throws(StorageError) {
        var steps: [PostgresConnection.Step] = []
        steps.reserveCapacity(tasks.count * 2)
        for task in tasks {
            let userID = String(decoding: task.userID, as: UTF8.self)
            let title = String(decoding: task.title, as: UTF8.self)
            steps.append(.init(PostgresSchema.setOwner, [userID]))
            steps.append(.init("""
                INSERT INTO tasks (id, user_id, title, title_key, description, completed, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, [String(task.id), userID, title, SQLiteTaskStore.sortKey(title),
                      task.description.map { String(decoding: $0, as: UTF8.self) }, String(task.completed),
                      String(task.createdAt), String(task.updatedAt)]))
        }
        _ = try PostgresBackend.mapped { () throws(PostgresError) in try connection.pipeline(steps) }
        count += tasks.count
    }

    func finish(highestIssuedID: Int64) throws(StorageError) -> Int {
        try PostgresBackend.mapped { () throws(PostgresError) in
            _ = try connection.query("""
                SELECT CASE WHEN highest > 0 THEN setval('tasks_id_seq', highest, true) ELSE setval('tasks_id_seq', 1, false) END
                FROM (SELECT greatest($1::bigint, coalesce(max(id), 0)) AS highest FROM tasks) AS issued
                """, [String(highestIssuedID)])
            try connection.execute("COMMIT")
        }
        finished = true
        return count
    }
}

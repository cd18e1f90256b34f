import ASCII
import Clocks
import PostgreSQL
import TaskModel

/// `copy` for PostgreSQL: every user's tasks out through the export policy, and tasks in within
/// one transaction that holds the tables locked and lifts row-level security for itself only
/// (forced again before its commit).
extension PostgresBackend {
    public func exportTasks(_ each: (TaskRow) throws(StorageError) -> Void) throws(StorageError) -> Int64 {
        let connection = try connect()
        // One snapshot for the rows and the sequence; the export policy opens for this
        // transaction only.
        try Self.mapped { () throws(PostgresError) in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL todo.export = 'on'")
        }
        defer { try? connection.execute("COMMIT") }
        // One COPY streams every row: no query per batch, and the server writes while the
        // destination inserts.
        try Self.mapped { () throws(PostgresError) in
            try connection.beginCopyOut("COPY (SELECT \(TaskColumn.selectList) FROM tasks ORDER BY id) TO STDOUT")
        }
        var row = PostgresCopyTextRow()
        while try Self.mapped({ () throws(PostgresError) -> Bool in try connection.nextCopyRow(into: &row) }) {
            try each(TaskRow(PostgresCopyTaskRow(row: row)))
        }
        return try Self.mapped { () throws(PostgresError) -> Int64 in
            try connection.query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM tasks_id_seq").int64(row: 0, column: 0)
        }
    }

    public func usersWithSyncHistory() throws(StorageError) -> [String] {
        let users = try exported("SELECT user_id FROM task_sync ORDER BY user_id")
        return (0..<users.rowCount).map { users.text(row: $0, column: 0) ?? "" }
    }

    /// The rows of `query` over every user's data: through the export policy, opened for one
    /// read-only transaction only.
    private func exported(_ query: String) throws(StorageError) -> PostgresResult {
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> PostgresResult in
            try connection.pipeline([
                .init("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), .init("SELECT set_config('todo.export', 'on', true)"),
                .init(query), .init("COMMIT"),
            ])[2]
        }
    }

    public func exportAppPasswords() throws(StorageError) -> [StoredAppPassword] {
        let rows = try exported("SELECT id, user_id, name, secret_digest, created_at, last_used_at FROM app_passwords ORDER BY id")
        return (0..<rows.rowCount).map { row in
            let password = AppPassword(id: rows.int64(row: row, column: 0), name: rows.text(row: row, column: 2) ?? "",
                                       createdAt: rows.int64(row: row, column: 4),
                                       lastUsedAt: rows.isNull(row: row, column: 5) ? nil : rows.int64(row: row, column: 5))
            return StoredAppPassword(userID: rows.text(row: row, column: 1) ?? "", password: password,
                                     digest: rows.text(row: row, column: 3) ?? "")
        }
    }

    public var storesNUL: Bool { false }

    /// None: PostgreSQL's text cannot hold U+0000.
    public func tasksHoldingNUL() throws(StorageError) -> [Int64] { [] }

    public func makeImporter() throws(StorageError) -> any TaskImporter {
        try migrate()
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> Result<any TaskImporter, StorageError> in
            // No writer may slip in between the emptiness check and the commit. The copy writes
            // every user's rows: row-level security is lifted for this transaction only (the
            // owner then bypasses it) and forced again before the commit.
            try connection.execute("BEGIN; LOCK TABLE tasks, task_sync, app_passwords IN ACCESS EXCLUSIVE MODE; SET LOCAL todo.export = 'on'; "
                + "ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY; ALTER TABLE task_sync NO FORCE ROW LEVEL SECURITY; "
                + "ALTER TABLE app_passwords NO FORCE ROW LEVEL SECURITY")
            let held = try connection.query(CopyDestination.countSQL)
            let counts = CopyDestination.tables.indices.map { held.int64(row: 0, column: Int32($0)) }
            if let refusal = CopyDestination.refusal(displayName, counts: counts) {
                try connection.execute("ROLLBACK")
                return .failure(refusal)
            }
            return .success(try PostgresTaskImporter(connection: connection))
        }.get()
    }
}

/// Copies tasks into PostgreSQL inside one transaction at the server's bulk-load speed: the
/// secondary indexes of `tasks` are dropped, the rows streamed in with `COPY … FROM STDIN` (text
/// format, one message per batch), and the indexes built again from their own definitions
/// before the commit — building an index over the rows once is several times cheaper than
/// keeping it up to date row by row. Nothing is visible until the commit. (PostgreSQL refuses
/// COPY FROM where row-level security applies: the copy's transaction lifts FORCE on `tasks`, so
/// its owner, the copying role, bypasses it until FORCE is set again before the commit.)
final class PostgresTaskImporter: TaskImporter {
    private let connection: PostgresConnection
    /// `CREATE INDEX` statements of the indexes dropped for the copy, as the server wrote them.
    private let droppedIndexes: [String]
    private var copying = false
    private var count = 0
    private var finished = false
    private var buffer = PostgresCopyText()
    /// Users whose change counters one INSERT writes (one parameter each).
    static let usersPerInsert = 1_000
    /// Bytes of rows sent to libpq at a time.
    static let messageSize = 1 << 16

    /// The copy's columns: every copied one, then `change_seq` (the id: see `finish`).
    static let copyStatement = "COPY tasks (\(TaskColumn.copiedList), change_seq) FROM STDIN"

    /// Takes over `connection`, inside the copy's transaction with `tasks` locked and empty.
    init(connection: PostgresConnection) throws(PostgresError) {
        self.connection = connection
        // Constraint indexes (the primary key) stay: they check the rows as they arrive.
        let indexes = try connection.query("""
            SELECT indexname, indexdef FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename = 'tasks'
              AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'tasks'::regclass)
            ORDER BY indexname
            """)
        var definitions: [String] = []
        for row in 0..<indexes.rowCount {
            guard let name = indexes.text(row: row, column: 0), let definition = indexes.text(row: row, column: 1) else { continue }
            try connection.execute("DROP INDEX \"\(name)\"")
            definitions.append(definition)
        }
        droppedIndexes = definitions
        try connection.beginCopyIn(Self.copyStatement)
        copying = true
    }

    deinit {
        guard !finished else { return }
        if copying { connection.abortCopyIn(reason: "copy abandoned") }
        try? connection.execute("ROLLBACK")
    }

    func insert(_ batch: StoredRowBatch) throws(StorageError) {
        for index in 0..<batch.count {
            let task = batch.row(index)
            try task.forEachStoredValue { _, value in
                switch value {
                case .text(let text): buffer.field(text)
                case .integer(let number): buffer.field(number)
                case .boolean(let flag): buffer.field(flag)
                }
            }
            buffer.field(task.integer(.id))
            buffer.endRow()
            count += 1
            if buffer.bytes.count >= Self.messageSize { try send() }
        }
    }

    /// Hands the buffered rows to libpq, as one COPY message.
    private func send() throws(StorageError) {
        try PostgresBackend.mapped { () throws(PostgresError) in try connection.putCopyData(buffer.bytes) }
        buffer.removeAll()
    }

    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8], syncUsers: [String],
                appPasswords: [StoredAppPassword]) throws(StorageError) -> Int {
        try PostgresBackend.mapped { () throws(PostgresError) in
            try connection.putCopyData(buffer.bytes)
            buffer.removeAll()
            copying = false
            try connection.endCopyIn()
            for definition in droppedIndexes { try connection.execute(definition) }
            _ = try connection.query("""
                INSERT INTO todo_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value
                """, [PostgresSchema.syncCursorKeyName, ASCIIHex.encode(syncCursorKey)])
            _ = try connection.query("""
                SELECT CASE WHEN highest > 0 THEN setval('tasks_id_seq', highest, true) ELSE setval('tasks_id_seq', 1, false) END
                FROM (SELECT greatest($1::bigint, coalesce(max(id), 0)) AS highest FROM tasks) AS issued
                """, [String(highestIssuedID)])
            // As for SQLite: change numbers are the ids, counters start at the copy's time in
            // milliseconds, the key comes along, and cursors of the source answer 410.
            let start = WallClock.milliseconds()
            try connection.execute("""
                INSERT INTO task_sync (user_id, last_change, purged_through, \(TaskCounts.tasksColumn), \(TaskCounts.completedColumn))
                SELECT user_id, \(start), \(start), count(*), count(*) FILTER (WHERE completed) FROM tasks GROUP BY user_id
                """)
            // Users with history but no task now: their cursors are the source's too.
            for chunk in stride(from: 0, to: syncUsers.count, by: Self.usersPerInsert) {
                let users = Array(syncUsers[chunk..<min(chunk + Self.usersPerInsert, syncUsers.count)])
                let values = (1...users.count).map { "($\($0), \(start), \(start))" }.joined(separator: ", ")
                _ = try connection.query("INSERT INTO task_sync (user_id, last_change, purged_through) VALUES \(values) "
                    + "ON CONFLICT (user_id) DO NOTHING", users)
            }
            // App passwords with their ids; the identity then continues after the highest.
            for stored in appPasswords {
                _ = try connection.query("""
                    INSERT INTO app_passwords (id, user_id, name, secret_digest, created_at, last_used_at)
                    VALUES ($1::bigint, $2, $3, $4, $5::bigint, $6::bigint)
                    """, [String(stored.password.id), stored.userID, stored.password.name, stored.digest,
                          String(stored.password.createdAt), stored.password.lastUsedAt.map { String($0) }])
            }
            _ = try connection.query("""
                SELECT setval(pg_get_serial_sequence('app_passwords', 'id'), greatest(coalesce(max(id), 0), 1), max(id) IS NOT NULL)
                FROM app_passwords
                """)
            try connection.execute("""
                ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
                ALTER TABLE task_sync FORCE ROW LEVEL SECURITY;
                ALTER TABLE app_passwords FORCE ROW LEVEL SECURITY;
                COMMIT
                """)
        }
        finished = true
        return count
    }
}

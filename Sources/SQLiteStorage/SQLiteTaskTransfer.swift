import ASCII
import Clocks
import SQLite
import TaskModel

/// `copy` for SQLite: reading every task out, and writing tasks into a new or empty file.
extension SQLiteBackend {
    public func exportTasks(_ each: (TaskRow) throws(StorageError) -> Void) throws(StorageError) -> Int64 {
        let connection = try Self.open(options, migrate: false)
        // One read transaction: every row and the sequence come from one snapshot.
        try Self.mapped { () throws(SQLiteError) in try connection.execute("BEGIN DEFERRED") }
        defer { try? connection.execute("COMMIT") }
        let statement = try Self.mapped { () throws(SQLiteError) in
            try connection.prepare("SELECT \(TaskColumn.selectList) FROM tasks ORDER BY id")
        }
        while try Self.mapped({ () throws(SQLiteError) -> Bool in try statement.step() }) {
            try each(TaskRow(statement: statement))
        }
        return try Self.mapped { () throws(SQLiteError) -> Int64 in
            try connection.scalarInteger("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0)") ?? 0
        }
    }

    public func countTasks() throws(StorageError) -> Int64 {
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> Int64 in try connection.scalarInteger("SELECT count(*) FROM tasks") ?? 0 }
    }

    public func usersWithSyncHistory() throws(StorageError) -> [String] {
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> [String] in
            let statement = try connection.prepare("SELECT user_id FROM task_sync ORDER BY user_id")
            var users: [String] = []
            while try statement.step() { users.append(statement.string(at: 0) ?? "") }
            return users
        }
    }

    public func exportAppPasswords() throws(StorageError) -> [StoredAppPassword] {
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> [StoredAppPassword] in
            let statement = try connection.prepare("""
                SELECT id, user_id, name, secret_digest, created_at, last_used_at FROM app_passwords ORDER BY id
                """)
            var found: [StoredAppPassword] = []
            while try statement.step() {
                let password = AppPassword(id: statement.int64(at: 0), name: statement.string(at: 2) ?? "", createdAt: statement.int64(at: 4),
                                           lastUsedAt: statement.isNull(at: 5) ? nil : statement.int64(at: 5))
                found.append(StoredAppPassword(userID: statement.string(at: 1) ?? "", password: password, digest: statement.string(at: 3) ?? ""))
            }
            return found
        }
    }

    public var storesNUL: Bool { true }

    public func tasksHoldingNUL() throws(StorageError) -> [Int64] {
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> [Int64] in
            // As blobs: SQLite's text functions stop at a NUL. Tags are stored as JSON, where
            // a NUL is the escape `\u0000`.
            let statement = try connection.prepare("""
                SELECT id FROM tasks WHERE instr(CAST(title AS BLOB), x'00') > 0
                    OR instr(CAST(description AS BLOB), x'00') > 0 OR instr(tags, '\\u0000') > 0
                ORDER BY id
                """)
            var ids: [Int64] = []
            while try statement.step() { ids.append(statement.int64(at: 0)) }
            return ids
        }
    }

    public func makeImporter() throws(StorageError) -> any TaskImporter {
        let connection = try Self.open(options, migrate: true)
        return try Self.mapped { () throws(SQLiteError) -> Result<any TaskImporter, StorageError> in
            // The copy's own connection: index builds sort on disk, not in memory (serving keeps
            // temp_store = MEMORY for its small sorts), with a page cache of 16 MiB, so memory
            // stays flat however many tasks come in.
            try connection.execute("PRAGMA temp_store = FILE; PRAGMA cache_size = -16384")
            // A rollback journal for the copy when no other connection has the file open: WAL
            // would write every new page twice (the log, then the checkpoint), while a rollback
            // journal keeps only the few pages the empty file had, so the rows are written once
            // and a failure still rolls back to the empty file. Leaving WAL needs the file to
            // itself: with another connection on it (a running server, a sqlite3 shell) the
            // switch fails at once and the copy stays in WAL. WAL is set again after the copy
            // (and by every open, should the copy die).
            connection.setBusyTimeout(milliseconds: 0)
            _ = try? connection.scalarText("PRAGMA journal_mode = DELETE")
            connection.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds)
            try connection.execute("BEGIN IMMEDIATE")
            let held = try connection.prepare(CopyDestination.countSQL)
            _ = try held.step()
            let refusal = CopyDestination.refusal(options.path, counts: CopyDestination.tables.indices.map { held.int64(at: Int32($0)) })
            held.reset()
            if let refusal {
                try connection.execute("ROLLBACK")
                _ = try? connection.scalarText("PRAGMA journal_mode = WAL")
                return .failure(refusal)
            }
            return .success(try SQLiteTaskImporter(connection: connection))
        }.get()
    }
}

/// Inserts copied tasks into an SQLite file inside one write transaction: the secondary
/// indexes of `tasks` are dropped first and built again from their own definitions before the
/// commit (one sort per index instead of a B-tree insert per row and index).
final class SQLiteTaskImporter: TaskImporter {
    private let connection: SQLiteConnection
    /// `CREATE INDEX` statements of the indexes dropped for the copy, as the schema holds them.
    private let droppedIndexes: [String]
    /// Inserts `rowsPerStatement` rows at once, and one row.
    private let insertMany: SQLiteStatement
    private let insertOne: SQLiteStatement
    private var count = 0
    private var finished = false

    /// Rows per INSERT: one statement step per many rows saves most of SQLite's per-statement
    /// work (`rowsPerStatement` × the copied columns stays far below SQLite's parameter limit).
    static let rowsPerStatement = 32

    /// An INSERT of `rows` rows; each row's change number is its id (see `finish`).
    static func insertSQL(rows: Int) -> String {
        let width = TaskColumn.copied.count
        let values = (0..<rows).map { row in
            "(" + TaskColumn.placeholders(TaskColumn.copied, from: 1 + row * width) { number, _ in "?\(number)" } + ", ?\(1 + row * width))"
        }
        return "INSERT INTO tasks (\(TaskColumn.copiedList), change_seq) VALUES " + values.joined(separator: ", ")
    }

    /// Takes over `connection`, inside the copy's write transaction with `tasks` empty.
    init(connection: SQLiteConnection) throws(SQLiteError) {
        self.connection = connection
        let indexes = try connection.prepare("""
            SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL ORDER BY name
            """)
        var found: [(name: String, sql: String)] = []
        while try indexes.step() {
            if let name = indexes.string(at: 0), let sql = indexes.string(at: 1) { found.append((name, sql)) }
        }
        for index in found { try connection.execute("DROP INDEX \"\(index.name)\"") }
        droppedIndexes = found.map(\.sql)
        insertMany = try connection.prepare(Self.insertSQL(rows: Self.rowsPerStatement))
        insertOne = try connection.prepare(Self.insertSQL(rows: 1))
    }

    deinit {
        guard !finished else { return }
        try? connection.execute("ROLLBACK")
        _ = try? connection.scalarText("PRAGMA journal_mode = WAL")
    }

    func insert(_ batch: StoredRowBatch) throws(StorageError) {
        var next = 0
        while next < batch.count {
            let rows = batch.count - next >= Self.rowsPerStatement ? Self.rowsPerStatement : 1
            let statement = rows == 1 ? insertOne : insertMany
            var index: Int32 = 1
            for row in next..<next + rows {
                try batch.row(row).forEachStoredValue { (_, value) throws(StorageError) in
                    try SQLiteBackend.mapped { () throws(SQLiteError) in try statement.bind(value, at: index) }
                    index += 1
                }
            }
            try SQLiteBackend.mapped { () throws(SQLiteError) in try statement.run() }
            next += rows
            count += rows
        }
    }

    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8], syncUsers: [String],
                appPasswords: [StoredAppPassword]) throws(StorageError) -> Int {
        do {
            // Ids kept: AUTOINCREMENT then continues after the highest.
            let password = try connection.prepare("""
                INSERT INTO app_passwords (id, user_id, name, secret_digest, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """)
            for stored in appPasswords {
                password.reset()
                try password.bind(stored.password.id, at: 1)
                try password.bind(stored.userID, at: 2)
                try password.bind(stored.password.name, at: 3)
                try password.bind(stored.digest, at: 4)
                try password.bind(stored.password.createdAt, at: 5)
                try password.bind(stored.password.lastUsedAt, at: 6)
                try password.run()
            }
            for definition in droppedIndexes { try connection.execute(definition) }
            let key = try connection.cachedStatement("INSERT OR REPLACE INTO todo_keys (name, value) VALUES (?1, ?2)")
            try key.bind(TaskDatabase.syncCursorKeyName, at: 1)
            try key.bind(ASCIIHex.encode(syncCursorKey), at: 2)
            try key.run()
            // AUTOINCREMENT keeps the highest id ever issued in sqlite_sequence; explicit ids
            // already raised it to the largest copied one.
            try connection.execute("UPDATE sqlite_sequence SET seq = max(seq, \(highestIssuedID)) WHERE name = 'tasks'")
            if connection.changes == 0, highestIssuedID > 0 {
                try connection.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('tasks', \(highestIssuedID))")
            }
            // Change numbers are the ids, and every user's counter starts at the copy's time in
            // milliseconds, past any count of changes the source could have issued, with nothing
            // before it kept: a sync cursor of the source (its MAC verifies: the key came along)
            // answers 410 here, so its client syncs afresh instead of trusting numbers of another
            // database. A first sync on the copy pages through the old change numbers with a
            // floor at the counter (`SyncPosition`), so its own cursors are never expired.
            let start = WallClock.milliseconds()
            try connection.execute("""
                INSERT INTO task_sync (user_id, last_change, purged_through, \(TaskCounts.tasksColumn), \(TaskCounts.completedColumn))
                SELECT user_id, \(start), \(start), count(*), sum(completed) FROM tasks GROUP BY user_id
                """)
            // Users with history but no task now: their cursors are the source's too.
            let counter = try connection.prepare("INSERT OR IGNORE INTO task_sync (user_id, last_change, purged_through) VALUES (?1, ?2, ?2)")
            try counter.bind(start, at: 2)
            for user in syncUsers {
                try counter.bind(user, at: 1)
                try counter.run()
            }
            try connection.execute("COMMIT")
            finished = true
            _ = try connection.scalarText("PRAGMA journal_mode = WAL")
            return count
        } catch {
            throw StorageError(error)
        }
    }
}

import Caching
import SQLite
import TaskModel

/// The SQLite `TaskStore`. Every statement is filtered by the owner, so a task id alone never
/// reaches another user's row; SQLite's errors become `StorageError`s here and nowhere else.
///
/// Not Sendable: it owns one thread's SQLite connection and its cached statements.
public final class SQLiteTaskStore: TaskStore {
    let connection: SQLiteConnection
    private let committer: GroupCommit
    private let health: WriteHealth
    private let file: DatabaseFile?
    private let identity: DatabaseFile.Identity?
    /// The watch's mark at the last `stat` that found the file unchanged.
    private var fileMark: DatabaseFileWatch.Mark?
    private var cursorKey: [UInt8]?
    /// Held, not used: it checkpoints while any store of the backend lives.
    let checkpointer: WALCheckpointer?
    /// Set by `deferDurability()`: writes return once committed.
    private var defersDurability = false
    /// The highest group committed by this store's writes since `takeDurabilityWait()`.
    private var pendingSequence: Int?
    /// Whose tasks those writes changed: announced to `changeFeed` once durable.
    private var pendingChanges: [ChangeKey] = []
    /// Where durable changes are announced (live sync); nil: not announced.
    private let changeFeed: (any ChangeFeed)?
    /// The list statements of the shapes used most recently: bounded, since a client can ask for
    /// any of some 300,000 shapes, and each prepared pair holds memory for the connection's life.
    private var listStatementCache: BoundedCache<TaskListQuery.Shape, (page: SQLiteStatement, count: SQLiteStatement)>

    private static let columns = TaskColumn.selectList

    /// Wraps an open, migrated connection; threads of one process share `committer` and
    /// `health`. With `file`, every operation first checks that the file at the path is still
    /// the one open.
    init(connection: SQLiteConnection, committer: GroupCommit = GroupCommit(), health: WriteHealth = WriteHealth(),
         file: DatabaseFile? = nil, listStatementCacheSize: Int = ListStatementCache.defaultShapes,
         checkpointer: WALCheckpointer? = nil, changeFeed: (any ChangeFeed)? = nil) {
        self.connection = connection
        self.changeFeed = changeFeed
        self.checkpointer = checkpointer
        self.listStatementCache = BoundedCache(capacity: listStatementCacheSize)
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
    func ensureCurrentFile() throws(StorageError) {
        guard let file else { return }
        if let watch = file.watch, let fileMark, watch.vouches(for: fileMark) { return }
        let mark = file.watch?.mark()
        guard let current = file.currentIdentity() else {
            throw StorageError(.unavailable, "the database file \(file.options.path) is missing")
        }
        guard current != identity else {
            fileMark = mark
            return
        }
        throw StorageError(.unavailable, "the database file \(file.options.path) was replaced while the service runs; "
            + "restart the service to use the new file")
    }

    /// A convenience for tools and tests: a store of its own over `connection`.
    public convenience init(connection: SQLiteConnection) {
        self.init(connection: connection, committer: GroupCommit())
    }

    /// Runs a write in a group commit (after the file check), returns once it is durable (or,
    /// after `deferDurability()`, once committed: see `takeDurabilityWait()`), and records
    /// whether the database accepts writes (which `/health` reports).
    func write<Outcome>(_ body: @escaping (SQLiteConnection) throws(SQLiteError) -> Outcome) throws(StorageError) -> Outcome {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> Outcome in try committed(body) }
    }

    /// `durableOnReturn` overrides `deferDurability()` (the `/health` probe answers for itself).
    private func committed<Outcome>(durableOnReturn: Bool = false,
                                    _ body: @escaping (SQLiteConnection) throws(SQLiteError) -> Outcome) throws(SQLiteError) -> Outcome {
        do {
            let (outcome, sequence) = try committer.perform(on: connection, waitForDurability: durableOnReturn || !defersDurability, body)
            if let sequence { pendingSequence = max(pendingSequence ?? 0, sequence) }
            health.record(writeSucceeded: true)
            return outcome
        } catch {
            if error.isUnavailable { health.record(writeSucceeded: false) }
            throw error
        }
    }

    public func deferDurability() -> Bool {
        defersDurability = committer.defersFlushes
        return defersDurability
    }

    public func takeDurabilityWait() -> (any DurabilityWait)? {
        guard let sequence = pendingSequence else { return nil }
        pendingSequence = nil
        defer { pendingChanges.removeAll() }
        return GroupDurabilityWait(committer: committer, sequence: sequence, health: health, changes: pendingChanges, feed: changeFeed)
    }

    /// A write of `userID`'s that changed their tasks: announced now if it is durable already,
    /// else with its durability wait.
    private func changed(_ userID: String) {
        guard let changeFeed else { return }
        let key = ChangeKey(userID: userID)
        if defersDurability {
            pendingChanges.append(key)
        } else {
            changeFeed.publish(key)
        }
    }

    public func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                       render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome {
        let outcome: CreateOutcome = try write { connection throws(SQLiteError) in
            let expired = now - IdempotencyKey.retentionMilliseconds
            if let idempotency {
                // A key past its lifetime is no longer a key: it neither replays nor is refused.
                let lookup = try connection.cachedStatement(
                    "SELECT fingerprint, task_id, body FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND created_at >= ?3")
                defer { lookup.reset() }
                try lookup.bind(userID, at: 1)
                try lookup.bind(idempotency.key, at: 2)
                try lookup.bind(expired, at: 3)
                if try lookup.step() {
                    guard lookup.string(at: 0) == idempotency.fingerprint else { return .keyReused }
                    return .replayed(taskID: lookup.int64(at: 1), body: lookup.withUTF8(at: 2) { Array($0) })
                }
            }
            let created = try Self.insert(state, userID: userID, now: now, on: connection)
            if let idempotency {
                // The same key's expired record, then a bounded batch of the user's other expired
                // ones: a write never pays for more than `IdempotencyKey.purgeBatch` old keys.
                let purge = try connection.cachedStatement("""
                    DELETE FROM idempotency_keys WHERE user_id = ?1 AND key IN (
                        SELECT key FROM idempotency_keys WHERE user_id = ?1 AND created_at < ?2 AND key = ?3
                        UNION ALL
                        SELECT key FROM (SELECT key FROM idempotency_keys WHERE user_id = ?1 AND created_at < ?2 LIMIT ?4))
                    """)
                defer { purge.reset() }
                try purge.bind(userID, at: 1)
                try purge.bind(expired, at: 2)
                try purge.bind(idempotency.key, at: 3)
                try purge.bind(IdempotencyKey.purgeBatch, at: 4)
                try purge.run()
                let record = try connection.cachedStatement("""
                    INSERT INTO idempotency_keys (user_id, key, fingerprint, task_id, body, created_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    """)
                defer { record.reset() }
                try record.bind(userID, at: 1)
                try record.bind(idempotency.key, at: 2)
                try record.bind(idempotency.fingerprint, at: 3)
                try record.bind(created.id, at: 4)
                try record.bind(String(decoding: render(created.row), as: UTF8.self), at: 5)
                try record.bind(now, at: 6)
                try record.run()
            }
            return .created(created)
        }
        if outcome.changedTasks { changed(userID) }
        return outcome
    }

    /// Inserts `state` as a new task of `userID` (created and updated at `now`), as a change.
    static func insert(_ state: TaskState, userID: String, now: Int64, on connection: SQLiteConnection) throws(SQLiteError) -> StoredTask {
        let state = state.identified()
        let change = try nextChange(userID: userID, moving: .inserted(completed: state.completed), on: connection)
        let statement = try connection.cachedStatement("""
            INSERT INTO tasks (user_id, created_at, updated_at, completed_at, change_seq, \(TaskColumn.stateList))
            VALUES (?1, ?2, ?2, ?3, ?4, \(statePlaceholders(from: 5))) RETURNING \(columns)
            """)
        defer { statement.reset() }
        try statement.bind(userID, at: 1)
        try statement.bind(now, at: 2)
        try statement.bind(state.completed ? state.reportedCompletedAt ?? now : nil, at: 3)
        try statement.bind(change, at: 4)
        try bind(state, to: statement, from: 5)
        guard let row = try storedRow(statement) else { throw SQLiteError(code: .error, message: "INSERT … RETURNING returned no row") }
        return row
    }

    /// `?first`, … one per state column, in `TaskColumn.state` order.
    static func statePlaceholders(from first: Int) -> String {
        TaskColumn.placeholders(TaskColumn.state, from: first) { number, _ in "?\(number)" }
    }

    /// Binds the value of `state` in each of `columns` (every state column unless told), in
    /// order, from parameter `first` on.
    static func bind(_ state: TaskState, _ columns: [TaskColumn] = TaskColumn.state, to statement: SQLiteStatement,
                     from first: Int32) throws(SQLiteError) {
        for (offset, column) in columns.enumerated() {
            try statement.bind(state.storedValue(column), at: first + Int32(offset))
        }
    }

    /// The user's next change number: one past their last, in the write's own transaction
    /// (SQLite has one writer at a time, so numbers follow commit order); the user's task counts
    /// (`TaskCounts`) move by `delta` in the same statement.
    static func nextChange(userID: String, moving delta: TaskCounts.Delta, on connection: SQLiteConnection) throws(SQLiteError) -> Int64 {
        let statement = try connection.cachedStatement(nextChangeSQL)
        defer { statement.reset() }
        try statement.bind(userID, at: 1)
        try statement.bind(Int64(delta.tasks), at: 2)
        try statement.bind(Int64(delta.completed), at: 3)
        guard try statement.step() else { throw SQLiteError(code: .error, message: "the change counter returned no row") }
        let change = statement.int64(at: 0)
        while try statement.step() {}
        return change
    }

    /// `nextChange`'s statement: `?1` the user, `?2` and `?3` the moves of their counters.
    private static let nextChangeSQL = TaskCounts.nextChangeSQL(row: "VALUES (?1, 1, ?2, ?3)")

    /// The task `id`, rendered with `render`, if `userID` owns it.
    public func find<Result>(userID: String, id: Int64, consistency _: ReadConsistency, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> Result? in
            let statement = try connection.cachedStatement(Self.findSQL)
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            return try Self.singleRow(statement, render)
        }
    }

    public func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> Result? in
            let statement = try connection.cachedStatement(key.column == .uid ? Self.findByUIDSQL : Self.findByResourceNameSQL)
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            try statement.bind(key.value, at: 2)
            return try Self.singleRow(statement, render)
        }
    }

    /// Calls `row` for each task of one page of `userID`'s tasks and returns the number of
    /// matching tasks before paging; both come from one snapshot.
    public func list(userID: String, query: TaskListQuery, consistency _: ReadConsistency, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> Int64 in try listPage(userID: userID, query: query, row: row) }
    }

    private func listPage(userID: String, query: TaskListQuery, row: (TaskRow) -> Void) throws(SQLiteError) -> Int64 {
        let statements = try listStatements(query)
        let parameters = query.hasFilterParameters ? Self.listParameters(query) : []
        try transaction("BEGIN DEFERRED")
        do {
            let page = statements.page
            page.reset()
            defer { page.reset() }
            try page.bind(userID, at: 1)
            try page.bind(Int64(query.limit), at: 2)
            try page.bind(query.offset, at: 3)
            try Self.bind(parameters, to: page, from: 4)
            let view = TaskRow(statement: page)
            var rows = 0
            while try page.step() {
                row(view)
                rows += 1
            }
            // A partial, non-empty page already tells the total: no count query needed.
            var total = query.offset + Int64(rows)
            if rows == query.limit || (rows == 0 && query.offset > 0) {
                let count = statements.count
                count.reset()
                defer { count.reset() }
                try count.bind(userID, at: 1)
                try Self.bind(parameters, to: count, from: 2)
                total = try count.step() ? count.int64(at: 0) : 0
            }
            try transaction("COMMIT")
            return total
        } catch {
            try? transaction("ROLLBACK")
            throw error
        }
    }

    /// The prepared page and count statements of a list of `query`'s shape: built and prepared
    /// once per shape and connection, found again by a small key rather than by their text.
    private func listStatements(_ query: TaskListQuery) throws(SQLiteError) -> (page: SQLiteStatement, count: SQLiteStatement) {
        let shape = query.shape
        if let cached = listStatementCache.value(for: shape) { return cached }
        let sql = Self.listSQL(query)
        let statements = (page: try connection.prepare(sql.page), count: try connection.prepare(sql.count))
        listStatementCache.insert(statements, for: shape)  // an evicted pair is finalized as it goes
        return statements
    }

    private static func bind(_ parameters: [TaskListSQL.Parameter], to statement: SQLiteStatement, from first: Int32) throws(SQLiteError) {
        for (offset, parameter) in parameters.enumerated() {
            switch parameter {
            case .text(let text): try statement.bind(text, at: first + Int32(offset))
            case .integer(let number): try statement.bind(number, at: first + Int32(offset))
            }
        }
    }

    public func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome {
        let outcome: UpdateOutcome = try write { connection throws(SQLiteError) in
            let find = try connection.cachedStatement(Self.findSQL)
            defer { find.reset() }
            try find.bind(id, at: 1)
            try find.bind(userID, at: 2)
            guard let current = try Self.storedRow(find) else { return .notFound }
            let decision = update.decide(current: current, now: now)
            switch decision {
            case .unchanged:
                return .unchanged(current)
            case .invalid, .preconditionFailed:
                return .refused(decision)
            case .write(let write):
                let next = try write.nextOccurrence.map { (state) throws(SQLiteError) in
                    try Self.insert(state, userID: userID, now: write.updatedAt, on: connection)
                }
                let change = try Self.nextChange(userID: userID, moving: .updated(completedBefore: current.completed, after: write.state.completed),
                                                 on: connection)
                let changed = write.state.changedColumns(since: current.state)
                let statement = try Self.updateStatement(writing: changed, on: connection)
                defer { statement.reset() }
                try statement.bind(id, at: 1)
                try statement.bind(userID, at: 2)
                try statement.bind(write.updatedAt, at: 3)
                try statement.bind(write.completedAt, at: 4)
                try statement.bind(next?.id, at: 5)
                try statement.bind(change, at: 6)
                try Self.bind(write.state, changed, to: statement, from: 7)
                guard let updated = try Self.storedRow(statement) else { return .notFound }
                return .updated(updated)
            }
        }
        if outcome.changedTasks { changed(userID) }
        return outcome
    }

    /// The UPDATE writing `columns` (and the bookkeeping columns), prepared once per column set
    /// while it is among the connection's most recently used: an index on a column not written
    /// is left alone, so completing a task rewrites two index entries instead of seven.
    /// Parameters: ?1 id, ?2 user, ?3 updated_at, ?4 completed_at, ?5 next_task_id, ?6 change_seq,
    /// then one per column of `columns`, in order. Static: in a group commit `connection` is the
    /// leader's, not this store's.
    private static func updateStatement(writing columns: [TaskColumn], on connection: SQLiteConnection) throws(SQLiteError) -> SQLiteStatement {
        let shape = columns.reduce(UInt64(0)) { $0 | 1 << UInt64($1.rawValue) }
        return try connection.cachedStatement(family: 1, shape: shape) {
            let assignments = columns.enumerated().map { "\($0.element.name) = ?\(7 + $0.offset)" } + ["updated_at = ?3"]
            return """
                UPDATE tasks SET \(assignments.joined(separator: ", ")), completed_at = ?4,
                    next_task_id = coalesce(?5, next_task_id), version = version + 1, change_seq = ?6
                WHERE id = ?1 AND user_id = ?2 RETURNING \(Self.columns)
                """
        }
    }

    public func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome {
        let outcome: DeleteOutcome = try write { connection throws(SQLiteError) in
            let version = try connection.cachedStatement("SELECT version, completed, resource_name FROM tasks WHERE id = ?1 AND user_id = ?2")
            defer { version.reset() }
            try version.bind(id, at: 1)
            try version.bind(userID, at: 2)
            guard try version.step() else { return .notFound }
            guard deletion.allows(version: version.int64(at: 0)) else { return .preconditionFailed }
            let wasCompleted = version.int64(at: 1) != 0
            let resourceName = version.string(at: 2)
            version.reset()
            let statement = try connection.cachedStatement("DELETE FROM tasks WHERE id = ?1 AND user_id = ?2")
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(userID, at: 2)
            try statement.run()
            let change = try Self.nextChange(userID: userID, moving: .removed(completed: wasCompleted), on: connection)
            let tombstone = try connection.cachedStatement(
                "INSERT INTO task_tombstones (user_id, change_seq, task_id, deleted_at, resource_name) VALUES (?1, ?2, ?3, ?4, ?5)")
            defer { tombstone.reset() }
            try tombstone.bind(userID, at: 1)
            try tombstone.bind(change, at: 2)
            try tombstone.bind(id, at: 3)
            try tombstone.bind(now, at: 4)
            try tombstone.bind(resourceName, at: 5)
            try tombstone.run()
            try Self.purgeTombstones(userID: userID, before: now - SyncPage.tombstoneRetentionMilliseconds, on: connection)
            return .deleted
        }
        if outcome.changedTasks { changed(userID) }
        return outcome
    }

    /// Drops the user's tombstones older than `cutoff`, remembering the newest change dropped:
    /// a cursor before it can no longer be served (410).
    private static func purgeTombstones(userID: String, before cutoff: Int64, on connection: SQLiteConnection) throws(SQLiteError) {
        let newest = try connection.cachedStatement(
            "SELECT max(change_seq) FROM task_tombstones WHERE user_id = ?1 AND deleted_at < ?2")
        defer { newest.reset() }
        try newest.bind(userID, at: 1)
        try newest.bind(cutoff, at: 2)
        guard try newest.step(), !newest.isNull(at: 0) else { return }
        let through = newest.int64(at: 0)
        newest.reset()
        let purge = try connection.cachedStatement("DELETE FROM task_tombstones WHERE user_id = ?1 AND change_seq <= ?2")
        defer { purge.reset() }
        try purge.bind(userID, at: 1)
        try purge.bind(through, at: 2)
        try purge.run()
        let mark = try connection.cachedStatement("UPDATE task_sync SET purged_through = max(purged_through, ?2) WHERE user_id = ?1")
        defer { mark.reset() }
        try mark.bind(userID, at: 1)
        try mark.bind(through, at: 2)
        try mark.run()
    }

    public func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency _: ReadConsistency) throws(StorageError) -> SyncPage {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> SyncPage in
            try transaction("BEGIN DEFERRED")
            do throws(SQLiteError) {
                let page = try changesPage(userID: userID, since: since, limit: limit)
                try transaction("COMMIT")
                // A page that moves its reader on is answered only once what it read is durable
                // (`takeDurabilityWait()`), as a write is: it may show a commit still unflushed.
                if defersDurability, page.movesPast(since), let sequence = committer.sequenceCoveringReads() {
                    pendingSequence = max(pendingSequence ?? 0, sequence)
                }
                return page
            } catch {
                try? transaction("ROLLBACK")
                throw error
            }
        }
    }

    private func changesPage(userID: String, since: SyncPosition?, limit: Int) throws(SQLiteError) -> SyncPage {
        let state = try connection.cachedStatement("SELECT last_change, purged_through FROM task_sync WHERE user_id = ?1")
        defer { state.reset() }
        try state.bind(userID, at: 1)
        let found = try state.step()
        let lastChange = found ? state.int64(at: 0) : 0
        let purgedThrough = found ? state.int64(at: 1) : 0
        state.reset()
        if let since, let refusal = SyncPage.refusal(of: since, lastChange: lastChange, purgedThrough: purgedThrough) {
            var refused = SyncPage()
            refused.refusal = refusal
            return refused
        }
        let tasks = try connection.cachedStatement("""
            SELECT \(Self.columns), change_seq FROM tasks WHERE user_id = ?1 AND change_seq > ?2 ORDER BY change_seq LIMIT ?3
            """)
        defer { tasks.reset() }
        try tasks.bind(userID, at: 1)
        try tasks.bind(since?.change ?? 0, at: 2)
        try tasks.bind(Int64(limit), at: 3)
        var changedTasks: [(change: Int64, task: StoredTask)] = []
        while try tasks.step() {
            changedTasks.append((tasks.int64(at: Int32(TaskColumn.selected.count)), StoredTask(statement: tasks)))
        }
        var deletions: [(change: Int64, task: DeletedTask)] = []
        if let since {
            let tombstones = try connection.cachedStatement("""
                SELECT change_seq, task_id, resource_name FROM task_tombstones WHERE user_id = ?1 AND change_seq > ?2
                ORDER BY change_seq LIMIT ?3
                """)
            defer { tombstones.reset() }
            try tombstones.bind(userID, at: 1)
            try tombstones.bind(since.change, at: 2)
            try tombstones.bind(Int64(limit), at: 3)
            while try tombstones.step() {
                deletions.append((tombstones.int64(at: 0), DeletedTask(id: tombstones.int64(at: 1), resourceName: tombstones.string(at: 2) ?? "")))
            }
        }
        return SyncPage.assemble(since: since, lastChange: lastChange, tasks: changedTasks, deletions: deletions, limit: limit)
    }

    public func syncCursorKey() throws(StorageError) -> [UInt8] {
        if let cursorKey { return cursorKey }
        try ensureCurrentFile()
        let stored = try SQLiteBackend.mapped { () throws(SQLiteError) -> String? in
            let statement = try connection.cachedStatement("SELECT value FROM todo_keys WHERE name = ?1")
            defer { statement.reset() }
            try statement.bind(TaskDatabase.syncCursorKeyName, at: 1)
            return try statement.step() ? statement.string(at: 0) : nil
        }
        guard let stored, let key = SyncCursorKey.key(fromHex: stored) else {
            throw StorageError(.internal, "the database has no valid sync cursor key (todo_keys): run `todo-fcgi migrate`")
        }
        cursorKey = key
        return key
    }

    /// Reads from the tasks table, so a missing, replaced, locked-out or corrupt database fails
    /// here. After a write failed for want of space or permission, it also tries a write about
    /// the size of a task's, so health turns good again only once writes work; at
    /// most one such probe per second per process (`WriteHealth`), whatever the request rate.
    public func checkHealth() throws(StorageError) {
        try ensureCurrentFile()
        try SQLiteBackend.mapped { () throws(SQLiteError) in
            let statement = try connection.cachedStatement("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)")
            defer { statement.reset() }
            _ = try statement.step()
        }
        // After a failed flush the probe is refused as every write is: 503 until the process exits.
        guard health.writesFailing || committer.flushFailure != nil else { return }
        try SQLiteBackend.mapped { () throws(SQLiteError) in try probeWrite() }
    }

    private func probeWrite() throws(SQLiteError) {
        try health.probeIfDue { () throws(SQLiteError) in
            _ = try committed(durableOnReturn: true) { connection throws(SQLiteError) in
                // About the pages a task write dirties (the row, its indexes, the change counter),
                // so "writes work" is said only when a real write would fit: 64 KiB written and
                // freed again in one commit.
                try connection.execute("""
                    INSERT INTO health_probe (id, filler) VALUES (1, zeroblob(65536));
                    DELETE FROM health_probe WHERE id = 1
                    """)
            }
        }
    }

    /// The statements a list runs for `query`: a page (`?1` user, `?2` limit, `?3` offset, then
    /// the filter's parameters) and the count of the user's matching tasks (`?1`, then the
    /// filter's). Built from enums only, never from input text; public so `todo-bench plans`
    /// shows the query plans of exactly these statements.
    public static func listSQL(_ query: TaskListQuery) -> (page: String, count: String) {
        let page = TaskListSQL(query, firstParameter: 4, placeholder: { number, _ in "?\(number)" }, contains: { "instr(\($0), \($1)) > 0" })
        let count = TaskListSQL(query, firstParameter: 2, placeholder: { number, _ in "?\(number)" }, contains: { "instr(\($0), \($1)) > 0" })
        // With no filter but the status, the user's counters give the count (`TaskCounts`).
        let counted = TaskCounts.give(query)
            ? TaskCounts.countSQL(for: query.status, user: "?1")
            : "SELECT count(*) FROM tasks WHERE user_id = ?1\(count.condition)"
        return (page: "SELECT \(columns) FROM tasks WHERE user_id = ?1\(page.condition) ORDER BY \(page.order) LIMIT ?2 OFFSET ?3",
                count: counted)
    }

    /// Binds the filter parameters of `query` to a statement of `listSQL(query)` from a given
    /// index (4 for the page, 2 for the count): for `todo-bench plans`.
    public static func listParameterValues(_ query: TaskListQuery) -> (SQLiteStatement, Int32) throws(SQLiteError) -> Void {
        let parameters = listParameters(query)
        return { statement, first throws(SQLiteError) in try bind(parameters, to: statement, from: first) }
    }

    /// The parameters `listSQL(query)` binds after the fixed ones.
    static func listParameters(_ query: TaskListQuery) -> [TaskListSQL.Parameter] {
        TaskListSQL.parameters(of: query)
    }

    /// The statement `find` runs (`?1` id, `?2` user).
    public static let findSQL = "SELECT \(columns) FROM tasks WHERE id = ?1 AND user_id = ?2"
    /// A task by its UID: `?1` the user, `?2` the UID.
    static let findByUIDSQL = "SELECT \(columns) FROM tasks WHERE user_id = ?1 AND uid = ?2"
    /// A task by its resource name: `?1` the user, `?2` the name.
    static let findByResourceNameSQL = "SELECT \(columns) FROM tasks WHERE user_id = ?1 AND resource_name = ?2"

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

extension SQLiteStatement {
    /// Binds a stored value (booleans as 0 or 1).
    func bind(_ value: StoredValue, at index: Int32) throws(SQLiteError) {
        switch value {
        case .text(let text): try bind(text, at: index)
        case .integer(let number): try bind(number, at: index)
        case .boolean(let flag): try bind(flag, at: index)
        }
    }

    /// Binds `value` to parameter `index` (SQLite copies borrowed text).
    func bind(_ value: BorrowedStoredValue, at index: Int32) throws(SQLiteError) {
        switch value {
        case .text(let text): try bindText(text, at: index)
        case .integer(let number): try bind(number, at: index)
        case .boolean(let flag): try bind(flag, at: index)
        }
    }
}

import ASCII
import Caching
import Clocks
import PostgreSQL
import TaskModel

/// The PostgreSQL `TaskStore`. A request is a libpq pipeline — the owner set for the
/// transaction, then statements that are filtered by the owner too — so reads, creates and
/// deletes cost one round trip and run as one transaction. An update reads the task (locked)
/// in one round trip and writes in a second, because its rules (`TaskUpdate.decide`) need the
/// stored task; so does a create with an `Idempotency-Key`. PostgreSQL's errors become
/// `StorageError`s here.
///
/// A lost connection (server restarted, network cut) fails the request in progress as
/// "unavailable" (503); the next request reconnects, no sooner than an exponential backoff
/// allows, so an outage is answered at once instead of by hanging threads.
///
/// Behind a transaction-mode pooler that does not track named statements, the first request
/// whose named statement is missing on the server connection it reached turns this store's
/// connection to unnamed statements (`PostgresStatementMode`) and runs again; nothing of the
/// failed attempt was committed. The process says once in its log what to set.
///
/// Not Sendable: it owns one thread's connection.
public final class PostgresTaskStore: TaskStore {
    private let connectionString: String
    /// How to connect (tests replace it); nil: `serving`.
    private let connect: ((String) throws(StorageError) -> PostgresConnection)?
    private let preparedStatementLimit: Int
    /// How a new connection sends statements.
    private let statementMode: PostgresStatementMode
    private let commits: CommitCounter
    /// Told of every change this store commits (it wakes waiters, here and on other hosts).
    private let changeFeed: any ChangeFeed
    /// Told of every connection made (for the process's reconnection and failover counts).
    private let events: ConnectionEvents
    /// Whether this store had a connection before: the next one is made again.
    private var connectedBefore = false
    /// Says, once per process, that a pooler turned connections to unnamed statements.
    private let poolerNotice: PoolerNotice
    private var connection: PostgresConnection?
    private var backoff = ConnectionBackoff()
    /// Where reads that may lag a little go (`--read-database`); nil: every read to the primary.
    private let standby: PostgresStandbyReader?
    public private(set) var changeAfterLastWrite: Int64?
    private var cursorKey: [UInt8]?
    /// The list statement's text for the shapes used most recently: as many as the connection
    /// keeps prepared.
    private var listStatementText: BoundedCache<TaskListQuery.Shape, String>

    private static let columns = TaskColumn.selectList
    typealias Step = PostgresConnection.Step

    /// Statements a connection keeps prepared besides the list shapes: every fixed statement
    /// of this store (about 25) with room to spare.
    static let fixedStatementAllowance = 64

    /// A store that connects with `connectionString` when first used, keeping the statements of
    /// at most `listStatementCacheSize` list shapes prepared (beside the fixed ones).
    init(connectionString: String, commits: CommitCounter, changeFeed: any ChangeFeed, events: ConnectionEvents = ConnectionEvents(),
         listStatementCacheSize: Int = ListStatementCache.defaultShapes,
         statementMode: PostgresStatementMode = .named, poolerNotice: PoolerNotice = PoolerNotice(),
         standby: PostgresStandbyReader? = nil,
         connect: ((String) throws(StorageError) -> PostgresConnection)? = nil) {
        self.standby = standby
        self.connectionString = connectionString
        self.commits = commits
        self.changeFeed = changeFeed
        self.events = events
        self.statementMode = statementMode
        self.poolerNotice = poolerNotice
        self.preparedStatementLimit = Self.fixedStatementAllowance + listStatementCacheSize
        self.listStatementText = BoundedCache(capacity: listStatementCacheSize)
        self.connect = connect
    }

    /// Connects for serving: the schema must be this build's. (Every transaction then sets what it
    /// needs for itself, `PostgresSchema.openTransaction`, so a pooled connection needs nothing.)
    static func serving(_ connectionString: String, preparedStatementLimit: Int,
                        statementMode: PostgresStatementMode = .named) throws(StorageError) -> PostgresConnection {
        let connection: PostgresConnection
        let version: Int64
        do {
            connection = try PostgresConnection(connectionString: connectionString, preparedStatementLimit: preparedStatementLimit,
                                                statementMode: statementMode)
            version = try PostgresSchema.installedVersion(connection)
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
        // A connection the server dropped while it sat idle (a restart, an idle timeout) is
        // replaced here, before a request is sent on it and fails.
        if let connection, connection.inTransaction || connection.isAliveAfterIdle() { return connection }
        connection = nil
        let remaining = backoff.remaining()
        guard remaining == 0 else {
            throw StorageError(.unavailable, "PostgreSQL is unreachable; the next attempt is in \(remaining / 1_000_000) ms",
                               nothingDone: true)
        }
        do {
            let fresh: PostgresConnection
            if let connect {
                fresh = try connect(connectionString)
            } else {
                fresh = try Self.serving(connectionString, preparedStatementLimit: preparedStatementLimit, statementMode: statementMode)
            }
            connection = fresh
            backoff.succeeded()
            events.connected(to: fresh.serverAddress, again: connectedBefore)
            connectedBefore = true
            return fresh
        } catch {
            backoff.failed()
            // No server that takes writes answered (none is up, or a failover is under way).
            var failed = error
            failed.nothingDone = error.kind == .unavailable
            throw failed
        }
    }

    /// Runs `steps` for `userID` after setting the owner, in one round trip, as one implicit
    /// transaction, or opening a transaction block with `begin` (before the owner is set, so
    /// the setting lives as long as the block). Returns the steps' own results. On any failure
    /// an open block is rolled back; a failure that turned the connection to unnamed statements
    /// is run again at once that way (the round trip started the transaction: nothing is lost).
    func run(_ userID: String, _ steps: [Step], begin: String? = nil, write: Bool = false) throws(StorageError) -> [PostgresResult] {
        let connection = try liveConnection()
        let opening = begin.map { [Step($0)] } ?? []
        let all = opening + [Step(PostgresSchema.openTransaction, [userID])] + steps
        var results: [PostgresResult]
        // Nothing of a round trip that cannot commit is done when it fails: the first of a block,
        // or a read. An implicit write's commit may have been under way when the connection went.
        let canCommit = write && begin == nil
        do {
            results = try pipeline(all, on: connection)
        } catch {
            // The round trip started the transaction, so nothing of it was done: run it again,
            // with unnamed statements, or on a new connection (to the primary of a multi-host
            // URI with target_session_attrs=read-write) when the server had turned read-only.
            guard error.turnedUnnamed || error.refusedReadOnly else { throw error.storageError(nothingDone: !canCommit) }
            let again = error.refusedReadOnly ? try liveConnection() : connection
            do {
                results = try pipeline(all, on: again)
            } catch {
                throw error.storageError(nothingDone: !canCommit)
            }
        }
        if write, begin == nil { commits.add() }
        return Array(results.dropFirst(opening.count + 1))
    }

    /// Runs `steps` in one round trip without setting the owner (inside a block that has it).
    /// A failure that turned the connection to unnamed statements ends the block: the caller
    /// starts its transaction again (`restartingOnTurnToUnnamed`).
    private func continueBlock(_ steps: [Step], commit: Bool) throws(StorageError) -> [PostgresResult] {
        let connection = try liveConnection()
        do {
            let results = try pipeline(steps, on: connection)
            if commit { commits.add() }
            return results
        } catch {
            throw error.storageError
        }
    }

    /// A failed round trip: what to throw, and whether it may be run again at once.
    private struct RoundTripFailure: Error {
        let storageError: StorageError
        /// It turned the connection to unnamed statements.
        let turnedUnnamed: Bool
        /// The server refused to write, read-only now (a switchover, a fenced primary): the
        /// connection was dropped, never to be used again for writes.
        var refusedReadOnly = false

        /// `storageError`, saying whether nothing of the round trip was done (a refusal to write
        /// always means nothing was).
        func storageError(nothingDone: Bool) -> StorageError {
            var error = storageError
            error.nothingDone = nothingDone || refusedReadOnly
            return error
        }
    }

    /// `connection.pipeline(steps)`, with a failure's clean-up: a lost connection is dropped, and
    /// so is one whose server turned read-only (the next is made to the primary), an open block
    /// rolled back, and the process told once if a pooler turned statements unnamed.
    private func pipeline(_ steps: [Step], on connection: PostgresConnection) throws(RoundTripFailure) -> [PostgresResult] {
        let modeBefore = connection.statementMode
        do {
            return try connection.pipeline(steps)
        } catch {
            if error.connectionLost || error.isReadOnly { self.connection = nil } else { connection.rollbackIfNeeded() }
            let turned = modeBefore == .named && connection.statementMode == .unnamed && !error.connectionLost
            if turned { poolerNotice.report(error) }
            throw RoundTripFailure(storageError: StorageError(error), turnedUnnamed: turned,
                                   refusedReadOnly: error.isReadOnly && !error.connectionLost)
        }
    }

    /// Runs a transaction of several round trips, and once more from its start if one of its
    /// later round trips turned the connection to unnamed statements (its block was rolled back).
    private func restartingOnTurnToUnnamed<Result>(_ body: () throws(StorageError) -> Result) throws(StorageError) -> Result {
        let modeBefore = connection?.statementMode ?? statementMode
        do {
            return try body()
        } catch {
            guard modeBefore == .named, connection?.statementMode == .unnamed else { throw error }
            return try body()
        }
    }

    /// A committed write changed `userID`'s tasks: a commit here is durable once it returns
    /// (`synchronous_commit` on), so waiters hear of it at once.
    private func changed(_ userID: String) {
        changeFeed.publish(ChangeKey(userID: userID))
    }

    /// The columns a state writes, in `TaskState.postgresParameters` order.
    private static let stateColumns = TaskColumn.stateList

    /// The state's values, as text parameters in `stateColumns` order.
    private static func parameters(for state: TaskState) -> [String?] { state.postgresParameters }

    /// `$first`, … one per state column, each cast to its column's type.
    static func stateValues(from first: Int) -> String {
        TaskColumn.placeholders(TaskColumn.state, from: first) { number, column in "$\(number)::\(column.postgresType)" }
    }

    /// The parameter number right after the state's, when they start at `first`.
    private static func afterState(_ first: Int) -> Int { first + TaskColumn.state.count }

    /// Inserts a task with the user's next change number; `$1` user, `$2` created and updated,
    /// `$3` completed at, `$4` the id (NULL: the next of the sequence), `$5`… the state.
    /// `unlessKeyed`: only if the user has no live record of the key after the state
    /// (`$n` the key, `$n+1` the oldest live record's time), else nothing.
    private static func insertTaskSQL(unlessKeyed: Bool) -> String {
        let key = afterState(5)
        let guardClause = unlessKeyed ? """

            WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = $1 AND key = $\(key) AND created_at >= $\(key + 1)::bigint)
            """ : ""
        // The inserted task counts once, and once more as completed when its state says so.
        let completed = 5 + (TaskColumn.state.firstIndex(of: .completed) ?? 0)
        return """
            WITH change AS (\(TaskCounts.nextChangeSQL(row: "VALUES ($1, 1, 1, CASE WHEN $\(completed)::boolean THEN 1 ELSE 0 END)")))
            INSERT INTO tasks (id, user_id, created_at, updated_at, completed_at, change_seq, \(stateColumns))
            SELECT coalesce($4::bigint, nextval('tasks_id_seq')), $1, $2::bigint, $2::bigint, $3::bigint, change.last_change,
                \(stateValues(from: 5))
            FROM change\(guardClause) RETURNING \(columns), change_seq
            """
    }

    private static let insertTask = insertTaskSQL(unlessKeyed: false)
    private static let insertTaskUnlessKeyed = insertTaskSQL(unlessKeyed: true)

    private static func insertParameters(_ state: TaskState, userID: String, now: Int64, id: Int64?) -> [String?] {
        [userID, String(now), state.completed ? String(state.reportedCompletedAt ?? now) : nil, id.map { String($0) }]
            + parameters(for: state.identified())
    }

    public func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                       render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome {
        changeAfterLastWrite = nil
        guard let idempotency else {
            let result = try run(userID, [Step(Self.insertTask, Self.insertParameters(state, userID: userID, now: now, id: nil))],
                                 write: true)[0]
            guard result.rowCount == 1 else { throw StorageError(.internal, "INSERT … RETURNING returned no row") }
            changed(userID)
            changeAfterLastWrite = Self.changeNumber(result)
            return .created(StoredTask(result: result, row: 0))
        }
        return try restartingOnTurnToUnnamed { () throws(StorageError) in
            try create(userID: userID, state: state, now: now, key: idempotency, render: render)
        }
    }

    /// A create with an `Idempotency-Key`: two round trips in one transaction block. Round trip
    /// 1: the key's record, if live, and the task inserted unless it is; round trip 2: the key
    /// stored with the body `render` makes of the inserted row, and the commit. A concurrent
    /// request with the same key waits on the key's unique index and then fails: 409.
    private func create(userID: String, state: TaskState, now: Int64, key idempotency: IdempotencyKey,
                        render: TaskRenderer) throws(StorageError) -> CreateOutcome {
        // A key past its lifetime is no longer a key: its record goes first, so it neither
        // replays nor is refused, and the new record takes its place.
        let expired = String(now - IdempotencyKey.retentionMilliseconds)
        let found = try run(userID, [
            Step("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3::bigint",
                 [userID, idempotency.key, expired]),
            Step("SELECT fingerprint, task_id, body, (\(Self.lastChange)) FROM idempotency_keys "
                 + "WHERE user_id = $1 AND key = $2 AND created_at >= $3::bigint", [userID, idempotency.key, expired]),
            Step(Self.insertTaskUnlessKeyed,
                 Self.insertParameters(state, userID: userID, now: now, id: nil) + [idempotency.key, expired]),
        ], begin: "BEGIN").dropFirst().map { $0 }
        if found[0].rowCount == 1 {
            _ = try continueBlock([Step("ROLLBACK")], commit: false)
            guard found[0].text(row: 0, column: 0) == idempotency.fingerprint else { return .keyReused }
            changeAfterLastWrite = found[0].int64(row: 0, column: 3)
            return .replayed(taskID: found[0].int64(row: 0, column: 1), body: found[0].withUTF8(row: 0, column: 2) { Array($0) })
        }
        guard found[1].rowCount == 1 else {
            _ = try continueBlock([Step("ROLLBACK")], commit: false)
            throw StorageError(.internal, "INSERT … RETURNING returned no row")
        }
        let created = StoredTask(result: found[1], row: 0)
        do {
            _ = try continueBlock([
                // A bounded batch of the user's other expired keys.
                Step("""
                    DELETE FROM idempotency_keys WHERE user_id = $1 AND key IN (
                        SELECT key FROM idempotency_keys WHERE user_id = $1 AND created_at < $2::bigint LIMIT $3::bigint)
                    """, [userID, expired, String(IdempotencyKey.purgeBatch)]),
                Step("INSERT INTO idempotency_keys (user_id, key, fingerprint, task_id, body, created_at) "
                     + "VALUES ($1, $2, $3, $4::bigint, $5, $6::bigint)",
                     [userID, idempotency.key, idempotency.fingerprint, String(created.id),
                      String(decoding: render(created.row), as: UTF8.self), String(now)]),
                Step("COMMIT"),
            ], commit: true)
        } catch {
            if error.kind == .conflict { return .keyInUse }
            throw error
        }
        changed(userID)
        changeAfterLastWrite = Self.changeNumber(found[1])
        return .created(created)
    }

    /// The user's last change number (`$1` the user), 0 before their first.
    private static let lastChange = PostgresStandbyReader.lastChange()

    /// The change number a write's `RETURNING` gives after the task's columns.
    private static func changeNumber(_ result: PostgresResult, row: Int32 = 0) -> Int64 {
        result.int64(row: row, column: Int32(TaskColumn.selected.count))
    }

    /// Runs a read; if the connection is lost under it, once more on a new connection (a read
    /// has no effect to repeat; the server may be back already).
    func read(_ userID: String, _ steps: [Step], begin: String? = nil) throws(StorageError) -> [PostgresResult] {
        do {
            return try run(userID, steps, begin: begin)
        } catch {
            guard error.kind == .unavailable, connection == nil, backoff.remaining() == 0 else { throw error }
            return try run(userID, steps, begin: begin)
        }
    }

    /// A read's results: from the standby when `consistency` lets it serve them and it shows the
    /// change they need (`PostgresStandbyReader`), else from the primary. With `snapshot`, the
    /// steps run as one repeatable-read transaction.
    private func read(_ userID: String, _ steps: [Step], consistency: ReadConsistency, snapshot: Bool = false) throws(StorageError) -> [PostgresResult] {
        if case .atLeast(let change) = consistency, let standby,
           let results = standby.read(userID, steps, atLeast: change, snapshot: snapshot) {
            return results
        }
        guard snapshot else { return try read(userID, steps) }
        return Array(try read(userID, steps + [Step("COMMIT")], begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").prefix(steps.count))
    }

    public func find<Result>(userID: String, id: Int64, consistency: ReadConsistency,
                             render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let result = try read(userID, [Step(Self.findSQL, [String(id), userID])], consistency: consistency)[0]
        return result.rowCount == 1 ? render(TaskRow(result: result, row: 0)) : nil
    }

    public func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let statement = key.column == .uid ? Self.findByUIDSQL : Self.findByResourceNameSQL
        let result = try read(userID, [Step(statement, [userID, key.value])], consistency: .latest)[0]
        return result.rowCount == 1 ? render(TaskRow(result: result, row: 0)) : nil
    }

    public func list(userID: String, query: TaskListQuery, consistency: ReadConsistency,
                     row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        let result = try read(userID, [Step(listStatement(query), [userID, String(query.limit), String(query.offset)]
                                                + Self.listParameters(query))], consistency: consistency)[0]
        guard result.rowCount > 0 else { return 0 }
        for index in 0..<result.rowCount where !result.isNull(row: index, column: 0) {
            row(TaskRow(result: result, row: index))
        }
        return result.int64(row: 0, column: Int32(TaskColumn.selected.count))
    }

    /// The list statement of `query`'s shape: its text made once per shape while in use, not
    /// per request (it is also the key of the connection's prepared statement).
    private func listStatement(_ query: TaskListQuery) -> String {
        let shape = query.shape
        if let cached = listStatementText.value(for: shape) { return cached }
        let statement = Self.listSQL(query).statement
        _ = listStatementText.insert(statement, for: shape)
        return statement
    }

    public func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome {
        changeAfterLastWrite = nil
        return try restartingOnTurnToUnnamed { () throws(StorageError) in try updateOnce(userID: userID, id: id, update: update, now: now) }
    }

    /// An update: the task read and locked in one round trip, written in a second.
    private func updateOnce(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome {
        let read = try run(userID, [Step(Self.findForUpdateSQL, [String(id), userID])], begin: "BEGIN")[0]
        guard read.rowCount == 1 else {
            _ = try continueBlock([Step("ROLLBACK")], commit: false)
            return .notFound
        }
        let current = StoredTask(result: read, row: 0)
        let decision = update.decide(current: current, now: now)
        guard case .write(let write) = decision else {
            _ = try continueBlock([Step("ROLLBACK")], commit: false)
            if case .unchanged = decision {
                changeAfterLastWrite = Self.changeNumber(read)
                return .unchanged(current)
            }
            return .refused(decision)
        }
        var steps: [Step] = []
        if let next = write.nextOccurrence {
            steps.append(Step(Self.insertTask, Self.insertParameters(next, userID: userID, now: write.updatedAt, id: nil)))
        }
        let completedDelta = TaskCounts.Delta.updated(completedBefore: current.completed, after: write.state.completed).completed
        steps.append(Step(Self.updateTask, [userID, String(id), String(write.updatedAt), write.completedAt.map { String($0) },
                                            String(write.nextOccurrence != nil)] + Self.parameters(for: write.state) + [String(completedDelta)]))
        steps.append(Step("COMMIT"))
        let results = try continueBlock(steps, commit: true)
        let updated = results[write.nextOccurrence == nil ? 0 : 1]
        guard updated.rowCount == 1 else { throw StorageError(.internal, "UPDATE … RETURNING lost a locked row") }
        changed(userID)
        changeAfterLastWrite = Self.changeNumber(updated)
        return .updated(StoredTask(result: updated, row: 0))
    }

    /// A write of a task's state with the user's next change number, returning the task and its
    /// change number: `$1` user, `$2` id, `$3` updated at, `$4` completed at, `$5` whether a next
    /// occurrence was inserted just before (its id is the sequence's current value), `$6`… the
    /// state, then the move of the user's completed count.
    private static let updateTask = """
        WITH change AS (\(TaskCounts.nextChangeSQL(row: "VALUES ($1, 1, 0, $\(afterState(6))::integer)")))
        UPDATE tasks SET (\(stateColumns)) = (\(stateValues(from: 6))),
            updated_at = $3::bigint, completed_at = $4::bigint,
            next_task_id = CASE WHEN $5::boolean THEN currval('tasks_id_seq') ELSE next_task_id END,
            version = version + 1, change_seq = (SELECT last_change FROM change)
        WHERE id = $2::bigint AND user_id = $1 RETURNING \(columns), change_seq
        """

    /// A delete with its tombstone and the user's next change number (none when nothing was
    /// deleted): `$1` user, `$2` id, `$3` now, `$4` the versions If-Match accepts (NULL: any).
    /// Its one row: whether it deleted, whether the task is still there (the statement's own
    /// snapshot still shows a row its CTE deleted, which tells 412 from 404), the change number.
    private static let deleteTask = """
        WITH gone AS (
            DELETE FROM tasks WHERE id = $2::bigint AND user_id = $1 AND ($4::bigint[] IS NULL OR version = ANY ($4::bigint[]))
            RETURNING id, completed, resource_name
        ), change AS (
            \(TaskCounts.nextChangeSQL(row: "SELECT $1, 1, -1, -gone.completed::integer FROM gone"))
        ), tombstone AS (
            INSERT INTO task_tombstones (user_id, change_seq, task_id, deleted_at, resource_name)
            SELECT $1, change.last_change, $2::bigint, $3::bigint, gone.resource_name FROM change, gone
        )
        SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM tasks WHERE id = $2::bigint AND user_id = $1),
            (SELECT last_change FROM change)
        """

    public func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome {
        changeAfterLastWrite = nil
        let versions = deletion.acceptedVersions.map { "{" + $0.map(String.init).joined(separator: ",") + "}" }
        let results = try run(userID, [
            Step(Self.deleteTask, [userID, String(id), String(now), versions]),
            Step("""
                WITH purged AS (DELETE FROM task_tombstones WHERE user_id = $1 AND deleted_at < $2::bigint RETURNING change_seq)
                UPDATE task_sync SET purged_through = greatest(purged_through, (SELECT max(change_seq) FROM purged))
                WHERE user_id = $1 AND EXISTS (SELECT 1 FROM purged)
                """, [userID, String(now - SyncPage.tombstoneRetentionMilliseconds)]),
        ], write: true)
        if results[0].int64(row: 0, column: 0) == 1 {
            changed(userID)
            changeAfterLastWrite = results[0].int64(row: 0, column: 2)
            return .deleted
        }
        return results[0].int64(row: 0, column: 1) == 1 ? .preconditionFailed : .notFound
    }

    public func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency: ReadConsistency) throws(StorageError) -> SyncPage {
        let after = String(since?.change ?? 0)
        // A standby behind the cursor would answer with changes the reader already has (or refuse
        // the cursor as unknown): it serves the page only once it shows the cursor's change too.
        var floor = consistency
        if case .atLeast(let change) = consistency { floor = .atLeast(max(change, since?.change ?? 0)) }
        let results = try read(userID, [
            Step("SELECT coalesce(max(last_change), 0), coalesce(max(purged_through), 0) FROM task_sync WHERE user_id = $1", [userID]),
            Step("SELECT \(Self.columns), change_seq FROM tasks WHERE user_id = $1 AND change_seq > $2::bigint ORDER BY change_seq LIMIT $3::bigint",
                 [userID, after, String(limit)]),
            Step("""
                SELECT change_seq, task_id, resource_name FROM task_tombstones WHERE user_id = $1 AND change_seq > $2::bigint AND $4::boolean
                ORDER BY change_seq LIMIT $3::bigint
                """, [userID, after, String(limit), String(since != nil)]),
        ], consistency: floor, snapshot: true)
        let lastChange = results[0].int64(row: 0, column: 0)
        let purgedThrough = results[0].int64(row: 0, column: 1)
        if let since, let refusal = SyncPage.refusal(of: since, lastChange: lastChange, purgedThrough: purgedThrough) {
            var refused = SyncPage()
            refused.refusal = refusal
            return refused
        }
        let tasks = results[1]
        let changed = (0..<tasks.rowCount).map { row in
            (change: tasks.int64(row: row, column: Int32(TaskColumn.selected.count)), task: StoredTask(result: tasks, row: row))
        }
        let tombstones = results[2]
        let deletions = (0..<tombstones.rowCount).map { row in
            (change: tombstones.int64(row: row, column: 0),
             task: DeletedTask(id: tombstones.int64(row: row, column: 1), resourceName: tombstones.text(row: row, column: 2) ?? ""))
        }
        return SyncPage.assemble(since: since, lastChange: lastChange, tasks: changed, deletions: deletions, limit: limit)
    }

    public func syncCursorKey() throws(StorageError) -> [UInt8] {
        if let cursorKey { return cursorKey }
        let result = try read("", [Step("SELECT value FROM todo_keys WHERE name = $1", [PostgresSchema.syncCursorKeyName])])[0]
        guard result.rowCount == 1, let stored = result.text(row: 0, column: 0), let key = SyncCursorKey.key(fromHex: stored) else {
            throw StorageError(.internal, "the database has no valid sync cursor key (todo_keys): run `todo-fcgi migrate`")
        }
        cursorKey = key
        return key
    }

    /// Reads from the tasks table (no owner set, so no row is visible): the server answers, the
    /// schema is there and the role may read it.
    public func checkHealth() throws(StorageError) {
        _ = try read("", [Step("SELECT 1 FROM tasks LIMIT 1")])
    }

    /// The first statement of every transaction of a store (`$1` the user): for benchmarks.
    public static let transactionOpening = PostgresSchema.openTransaction

    /// The statement `find` runs (`$1` id, `$2` user).
    public static let findSQL = "SELECT \(columns) FROM tasks WHERE id = $1::bigint AND user_id = $2"
    /// A task by its UID: `$1` the user, `$2` the UID.
    static let findByUIDSQL = "SELECT \(columns) FROM tasks WHERE user_id = $1 AND uid = $2"
    /// A task by its resource name: `$1` the user, `$2` the name.
    static let findByResourceNameSQL = "SELECT \(columns) FROM tasks WHERE user_id = $1 AND resource_name = $2"

    /// An update's read: the task, locked, and the user's last change number after its columns.
    static let findForUpdateSQL = "SELECT \(columns), (\(PostgresStandbyReader.lastChange(user: 2))) "
        + "FROM tasks WHERE id = $1::bigint AND user_id = $2 FOR UPDATE OF tasks"

    /// The statement a list runs (`$1` user, `$2` limit, `$3` offset, then the filter's
    /// parameters): the page and the count of the user's matching tasks in one statement, so
    /// both come from one snapshot, in one round trip. The count comes on every row (the column
    /// after the task's); an empty page is one row of NULL tasks. Built from enums only.
    public static func listSQL(_ query: TaskListQuery) -> (statement: String, parameters: [String?]) {
        let inner = TaskListSQL(query, firstParameter: 4, placeholder: listPlaceholder, contains: listContains)
        let outer = TaskListSQL(query, firstParameter: 4, placeholder: listPlaceholder, contains: listContains, columnPrefix: "page.")
        let columns = TaskColumn.selectList.split(separator: ",").map { "page." + $0.trimmingASCIISpaces }.joined(separator: ", ")
        // With no filter but the status, the user's counters give the count (`TaskCounts`).
        let count = TaskCounts.give(query)
            ? TaskCounts.countSQL(for: query.status, user: "$1") + " AS total"
            : "SELECT count(*) AS total FROM tasks WHERE user_id = $1\(inner.condition)"
        return ("""
            SELECT \(columns), matching.total
            FROM (\(count)) AS matching
            LEFT JOIN LATERAL (
                SELECT \(TaskColumn.selectList), title_key FROM tasks WHERE user_id = $1\(inner.condition)
                ORDER BY \(inner.order) LIMIT $2::bigint OFFSET $3::bigint
            ) AS page ON true
            ORDER BY \(outer.order)
            """, texts(of: inner.parameters))
    }

    /// The filter's values, as the list statement takes them after its fixed ones.
    static func listParameters(_ query: TaskListQuery) -> [String?] {
        texts(of: TaskListSQL.parameters(of: query))
    }

    private static func texts(of parameters: [TaskListSQL.Parameter]) -> [String?] {
        parameters.map {
            switch $0 {
            case .text(let text): return text
            case .integer(let number): return String(number)
            }
        }
    }

    private static func listPlaceholder(_ n: Int, _ value: TaskListSQL.Parameter) -> String {
        if case .integer = value { return "$\(n)::bigint" }
        return "$\(n)::text"
    }

    private static func listContains(_ column: String, _ value: String) -> String { "strpos(\(column), \(value)) > 0" }
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

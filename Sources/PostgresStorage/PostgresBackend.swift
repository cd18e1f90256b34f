import Locks
import PostgreSQL
import Synchronization
import TaskModel

/// Tasks in a PostgreSQL database: the server database, for workers on several hosts. Each
/// thread's store has its own connection; they share a commit counter and the process's change
/// feed, which they tell of every change they commit.
public struct PostgresBackend: TaskBackend {
    /// The libpq connection string (it may hold a password: never print it).
    let connectionString: String
    private let committed = CommitCounter()
    private let connectionEvents = ConnectionEvents()
    /// The most list-query shapes whose statements a connection keeps prepared.
    let listStatementCacheSize: Int
    /// How connections send statements (`unnamed` for transaction-mode poolers).
    let statementMode: PostgresStatementMode
    private let poolerNotice: PoolerNotice
    /// Where the live-sync listener connects, when not `connectionString` (a pooler in between).
    let listenConnectionString: String?
    private let warn: @Sendable (String) -> Void
    /// Live sync's feed, made on first use and shared by the process's stores.
    private let changeFeed = Locked<PostgresChangeFeed?>(nil)
    /// The hot standby that serves reads carrying a consistency token (`--read-database`).
    let readConnectionString: String?
    /// Where the reads offered to that standby went.
    private let standbyReads: StandbyReads?

    /// The database `connectionString` names; throws when libpq cannot parse it. `warn` gets
    /// the one line a process writes when a pooler turns its connections to unnamed statements,
    /// live sync's listener troubles and the read database's outages; `listenConnectionString`
    /// is where that listener connects (default `connectionString`); `readConnectionString`, a
    /// hot standby of the database, serves the reads that may lag (`ReadConsistency.atLeast`).
    public init(connectionString: String,
                listStatementCacheSize: Int = ListStatementCache.defaultShapes,
                statementMode: PostgresStatementMode = .named,
                listenConnectionString: String? = nil,
                readConnectionString: String? = nil,
                warn: @escaping @Sendable (String) -> Void = { _ in }) throws(StorageError) {
        self.listenConnectionString = listenConnectionString
        self.readConnectionString = readConnectionString
        do {
            standbyReads = try readConnectionString.map { (uri) throws(PostgresError) in
                StandbyReads(displayName: try PostgresConnectionString.redacted(uri), warn: warn)
            }
        } catch {
            throw StorageError(.incompatible, "the read database: " + error.message)
        }
        self.warn = warn
        self.listStatementCacheSize = listStatementCacheSize
        self.statementMode = statementMode
        poolerNotice = PoolerNotice(write: warn)
        do {
            displayName = try PostgresConnectionString.redacted(connectionString)
        } catch {
            throw StorageError(.incompatible, error.message)
        }
        self.connectionString = connectionString
    }

    /// The connection string without its password.
    public let displayName: String

    public var commits: Int { committed.value }

    public var reconnections: Int { connectionEvents.reconnections }

    public var failovers: Int { connectionEvents.failovers }

    public var replicaReads: ReplicaReadCounts { standbyReads?.counts ?? ReplicaReadCounts() }

    public var databaseFile: String? { nil }

    /// A connection for maintenance, every failure as a storage error.
    func connect() throws(StorageError) -> PostgresConnection {
        do {
            return try PostgresConnection(connectionString: connectionString, statementMode: statementMode)
        } catch {
            throw StorageError(error)
        }
    }

    @discardableResult
    public func migrate(progress: (Int, Int) -> Void) throws(StorageError) -> Int64 {
        let connection = try connect()
        try Self.mapped { () throws(PostgresError) in try PostgresSchema.migrate(connection, progress: progress) }
        return PostgresSchema.version
    }

    /// The process's feed (`PostgresChangeFeed`): a `LISTEN`ing connection of its own, made on
    /// first use and after outages, so a server down at start-up delays only live sync.
    public func makeChangeFeed() throws(StorageError) -> any ChangeFeed {
        sharedChangeFeed()
    }

    private func sharedChangeFeed() -> PostgresChangeFeed {
        changeFeed.withLock { feed in
            if let feed { return feed }
            // Wake-ups go out through the workers' own route to the server (a pooler is fine).
            let sender = PostgresWakeSender(connectionString: connectionString, statementMode: statementMode, warn: warn)
            let made = PostgresChangeFeed(connectionString: listenConnectionString ?? connectionString, sender: sender, warn: warn)
            feed = made
            return made
        }
    }

    public func makeStore() throws(StorageError) -> any TaskStore {
        let limit = PostgresTaskStore.fixedStatementAllowance + listStatementCacheSize
        var standby: PostgresStandbyReader?
        if let readConnectionString, let standbyReads {
            standby = PostgresStandbyReader(connectionString: readConnectionString, statementMode: statementMode,
                                            preparedStatementLimit: limit, reads: standbyReads)
        }
        return PostgresTaskStore(connectionString: connectionString, commits: committed, changeFeed: sharedChangeFeed(),
                                 events: connectionEvents, listStatementCacheSize: listStatementCacheSize, statementMode: statementMode,
                                 poolerNotice: poolerNotice, standby: standby)
    }

    /// Connectivity, the server, the schema version, the role (neither superuser nor
    /// BYPASSRLS, which would void row-level security) and row-level security itself.
    public func check() throws(StorageError) -> String {
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> String in
            let role = try connection.query("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            let roleName = role.text(row: 0, column: 0) ?? "?"
            guard !role.bool(row: 0, column: 1), !role.bool(row: 0, column: 2) else {
                throw PostgresError(message: "role \(roleName) is a superuser or has BYPASSRLS: row-level security would not bind it; "
                    + "serve with a role that has neither (docs/SCALING.md)")
            }
            let version = try PostgresSchema.installedVersion(connection)
            guard version > 0 else {
                return "database \(displayName) has no schema yet: `serve` or `migrate` will create it"
            }
            guard version == PostgresSchema.version else {
                throw PostgresError(message: "the database schema version is \(version), expected \(PostgresSchema.version): run `todo-fcgi migrate`")
            }
            let tables = PostgresSchema.guardedTables.map { "'\($0)'" }.joined(separator: ", ")
            let unguarded = try connection.query("""
                SELECT coalesce(string_agg(c.relname, ', ' ORDER BY c.relname), '')
                FROM unnest(ARRAY[\(tables)]) AS guarded(name) JOIN pg_class AS c ON c.oid = to_regclass(guarded.name)
                WHERE NOT (c.relrowsecurity AND c.relforcerowsecurity)
                """).text(row: 0, column: 0) ?? ""
            guard unguarded.isEmpty else {
                throw PostgresError(message: "row-level security is not enabled and forced on \(unguarded): run `todo-fcgi migrate`")
            }
            let drifted = try connection.pipeline([
                .init("SELECT set_config('todo.export', 'on', true)"), .init(TaskCounts.driftSQL),
            ])[1].int64(row: 0, column: 0)
            guard drifted == 0 else { throw PostgresError(message: "database \(displayName): " + TaskCounts.driftMessage(drifted)) }
            let tasks = try Self.countAll(connection)
            let synchronous = try connection.query("SELECT current_setting('synchronous_commit')").text(row: 0, column: 0) ?? "?"
            return "database ok: \(displayName), PostgreSQL \(connection.parameterStatus("server_version") ?? "?"), "
                + "schema version \(version), \(tasks) tasks, role \(roleName) (not superuser, no BYPASSRLS), "
                + "row-level security enabled and forced on every table, TimeZone \(connection.parameterStatus("TimeZone") ?? "?") "
                + "(timestamps are stored as UTC milliseconds), synchronous_commit \(synchronous)"
                + (synchronous == "off" ? " (the workers turn it on for each of their transactions)" : "")
                + (try checkReadDatabase(version: version))
        }
    }

    /// The read database's part of `check`: reachable, this schema, and whether it is a standby
    /// (with how far its replay is behind) — a primary there serves reads correctly but offloads nothing.
    private func checkReadDatabase(version: Int64) throws(PostgresError) -> String {
        guard let readConnectionString, let standbyReads else { return "" }
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection(connectionString: readConnectionString, statementMode: statementMode)
        } catch {
            throw PostgresError(message: "read database \(standbyReads.displayName): \(error.message)")
        }
        let standbyVersion = try PostgresSchema.installedVersion(connection)
        guard standbyVersion == version else {
            throw PostgresError(message: "read database \(standbyReads.displayName) has schema version \(standbyVersion), expected "
                + "\(version): is it a standby of --database?")
        }
        let state = try connection.query("""
            SELECT pg_is_in_recovery(), coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000), 0)::bigint
            """)
        guard state.bool(row: 0, column: 0) else {
            return "; read database \(standbyReads.displayName): not a standby (it is in no recovery): reads sent there see "
                + "every write but offload nothing from the primary"
        }
        return "; read database ok: \(standbyReads.displayName), a hot standby, last replayed commit "
            + "\(state.int64(row: 0, column: 1)) ms old"
    }

    /// With both tables locked for the transaction: a write between a user's count and its
    /// update would otherwise be missed (a maintenance pause of about a second per million tasks).
    public func recountTasks() throws(StorageError) -> Int64 {
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> Int64 in
            try connection.execute("BEGIN; LOCK TABLE tasks, task_sync IN ACCESS EXCLUSIVE MODE; SET LOCAL todo.export = 'on'")
            do throws(PostgresError) {
                let drifted = try connection.query(TaskCounts.driftSQL).int64(row: 0, column: 0)
                if drifted > 0 { try connection.execute(PostgresSchema.recount) }
                try connection.execute("COMMIT")
                return drifted
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    public func countTasks() throws(StorageError) -> Int64 {
        let connection = try connect()
        return try Self.mapped { () throws(PostgresError) -> Int64 in try Self.countAll(connection) }
    }

    /// Every user's tasks, counted in a read-only transaction that may see them all.
    private static func countAll(_ connection: PostgresConnection) throws(PostgresError) -> Int64 {
        let results = try connection.pipeline([
            .init("SELECT set_config('todo.export', 'on', true)"), .init("SELECT count(*) FROM tasks"),
        ])
        return results[1].int64(row: 0, column: 0)
    }

    /// PostgreSQL is backed up with its own tools: this runs `pg_dump` (custom format, for
    /// `pg_restore`) when it is installed, and says so plainly when it is not.
    /// pg_dump reports no progress this can relay: `progress` is not called.
    public func backup(to destination: String, replacing: Bool, progress: @escaping (Int64, Int64) -> Void) throws(StorageError) -> String {
        let output = try BackupFile(destination: destination, replacing: replacing)
        let connection = try connect()
        let tasks = try Self.mapped { () throws(PostgresError) -> Int64 in try Self.countAll(connection) }
        try PgDump.run(connectionString: connectionString, destination: output.temporaryPath)
        try output.publish()
        return "backed up \(displayName) to \(destination) with pg_dump (custom format, restore with pg_restore): \(tasks) tasks"
    }

    static func mapped<Result>(_ body: () throws(PostgresError) -> Result) throws(StorageError) -> Result {
        do {
            return try body()
        } catch {
            throw StorageError(error)
        }
    }
}

/// Says once per process that a pooler turned connections to unnamed statements, and what to set.
final class PoolerNotice: Sendable {
    private let reported = Atomic<Bool>(false)
    private let write: @Sendable (String) -> Void

    /// A notice written with `write` (a warning line in the server's log).
    init(write: @escaping @Sendable (String) -> Void = { _ in }) {
        self.write = write
    }

    /// Reports `error` (the missing statement) the first time a connection of this process turns.
    func report(_ error: PostgresError) {
        guard !reported.exchange(true, ordering: .relaxed) else { return }
        write("PostgreSQL: \(error.sqlState.map { "SQLSTATE \($0), " } ?? "")a statement this connection prepared is not on the "
            + "server connection it reached: a transaction-mode pooler that does not keep named statements (PgBouncer before "
            + "1.21 or without max_prepared_statements, RDS Proxy, Supavisor, Odyssey) is in front of the database. Connections "
            + "now send unnamed statements as they meet it, and the failed requests were run again; set "
            + "TODO_POSTGRES_STATEMENTS=unnamed (--postgres-statements unnamed) to start that way, or PgBouncer 1.21+ "
            + "max_prepared_statements to keep named ones (docs/SCALING.md)")
    }
}

/// Transactions committed by the threads of one process.
final class CommitCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one commit.
    func add() { count.add(1, ordering: .relaxed) }

    /// Commits so far.
    var value: Int { count.load(ordering: .relaxed) }
}

/// The connections the stores of one process make: how many were made again, and how many of
/// those reached another server than the one before (a failover or switchover).
final class ConnectionEvents: Sendable {
    private struct State {
        var reconnections = 0
        var failovers = 0
        /// The server the process's latest connection reached.
        var lastServer: String?
    }

    private let state = Locked(State())

    /// A store connected to `server` (`again`: it had a connection before, lost or dropped).
    func connected(to server: String, again: Bool) {
        state.withLock { state in
            if again { state.reconnections += 1 }
            if let last = state.lastServer, last != server { state.failovers += 1 }
            state.lastServer = server
        }
    }

    /// Connections made again so far.
    var reconnections: Int { state.withLock { $0.reconnections } }

    /// Connections that reached another server than the previous one.
    var failovers: Int { state.withLock { $0.failovers } }
}

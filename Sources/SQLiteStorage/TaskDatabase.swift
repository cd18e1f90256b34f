import SQLite
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Opens the task database, applies connection settings and migrates the schema.
public enum TaskDatabase {
    /// `PRAGMA application_id`: marks the file as ours ("Todo"), so a foreign database is refused.
    public static let applicationID: Int64 = 0x546F_646F
    /// The schema version this build writes (`PRAGMA user_version`).
    public static let schemaVersion: Int64 = 6

    /// How durable a commit is before it is acknowledged.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync the WAL on every commit: an acknowledged write survives power loss.
        case full
        /// fsync only at checkpoints: survives a process crash; power loss may drop the last commits.
        case normal
    }

    /// Settings for every connection.
    public struct Options: Sendable {
        /// The database file path.
        public var path: String
        /// The commit durability.
        public var synchronous: Synchronous = .full
        /// How long a writer waits for another writer's lock.
        public var busyTimeoutMilliseconds: Int32 = 5000
        /// The most list-query shapes whose statements a connection keeps prepared.
        public var listStatementCacheSize = ListStatementCache.defaultShapes

        /// Options for the database at `path`.
        public init(path: String) {
            self.path = path
        }
    }

    /// Why a database cannot be used.
    public struct OpenError: Error, Sendable, CustomStringConvertible {
        /// A one-line explanation for the operator.
        public let description: String
        /// Whether the file does not exist (rather than being foreign or of another schema).
        public var isMissing = false
    }

    /// Opens a connection with WAL, the chosen durability and a busy timeout. Only `migrate: true`
    /// (the `migrate` command and `serve`'s start-up) creates a missing file and upgrades the
    /// schema; otherwise a missing file is an error, so a mistyped path never leaves an empty
    /// database behind.
    /// `progress` hears how many schema versions of how many pending are applied.
    public static func open(_ options: Options, migrate: Bool = true, progress: (Int, Int) -> Void = { _, _ in }) throws -> SQLiteConnection {
        if !migrate, access(options.path, F_OK) != 0 {
            throw OpenError(description: "the database \(options.path) does not exist (`todo-fcgi migrate` creates it)", isMissing: true)
        }
        let connection = try SQLiteConnection(path: options.path, create: migrate)
        connection.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds)
        try checkOwnership(connection)
        // On every open, not only when creating: a file restored from a backup (VACUUM INTO
        // writes rollback-journal files) or copied in from elsewhere would otherwise serve in
        // `delete` mode, where readers block the writer. WAL persists in the file; switching
        // needs a moment without other connections, which start-up and `migrate` have.
        if try connection.scalarText("PRAGMA journal_mode")?.lowercased() != "wal" {
            _ = try connection.scalarText("PRAGMA journal_mode = WAL")
        }
        if migrate {
            try self.migrate(connection, progress: progress)
        } else {
            try requireCurrentSchema(connection)
        }
        try connection.execute("""
            PRAGMA synchronous = \(options.synchronous.rawValue.uppercased());
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -512;
            """)
        return connection
    }

    /// Brings the schema to `schemaVersion`. Safe when several processes start at once:
    /// the check and the change happen inside one write transaction.
    static func migrate(_ connection: SQLiteConnection, progress: (Int, Int) -> Void) throws {
        guard try connection.scalarInteger("PRAGMA user_version") != schemaVersion else { return }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let version = try connection.scalarInteger("PRAGMA user_version") ?? 0
            if version > schemaVersion {
                throw OpenError(description: "the database schema version \(version) is newer than this build supports (\(schemaVersion))")
            }
            let pending = Int(schemaVersion - version)
            progress(0, pending)
            if version < 1 {
                try connection.execute(schemaV1)
                progress(Int(1 - version), pending)
            }
            if version < 2 {
                try connection.execute(schemaV2)
                try fillSearchText(connection)
                progress(Int(2 - version), pending)
            }
            if version < 3 {
                try connection.execute(schemaV3)
                let key = try connection.prepare("INSERT INTO todo_keys (name, value) VALUES (?1, ?2)")
                try key.bind(syncCursorKeyName, at: 1)
                do {
                    try key.bind(try SyncCursorKey.make(), at: 2)
                } catch {
                    throw SQLiteError(code: .error, message: "no random bytes for the sync cursor key: \(error)")
                }
                try key.run()
                progress(Int(3 - version), pending)
            }
            if version < 4 {
                try connection.execute(schemaV4)
                progress(Int(4 - version), pending)
            }
            if version < 5 {
                try connection.execute(schemaV5)
                progress(Int(5 - version), pending)
            }
            if version < 6 {
                try connection.execute(schemaV6)
                progress(Int(6 - version), pending)
            }
            try connection.execute("PRAGMA user_version = \(schemaVersion)")
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    private static func requireCurrentSchema(_ connection: SQLiteConnection) throws {
        let version = try connection.scalarInteger("PRAGMA user_version") ?? 0
        guard version == schemaVersion else {
            throw OpenError(description: "the database schema version is \(version), expected \(schemaVersion): run `todo-fcgi migrate`")
        }
    }

    private static func checkOwnership(_ connection: SQLiteConnection) throws {
        let id = try connection.scalarInteger("PRAGMA application_id") ?? 0
        if id == applicationID { return }
        let tables = try connection.scalarInteger("SELECT count(*) FROM sqlite_schema") ?? 0
        guard id == 0, tables == 0 else {
            throw OpenError(description: "\(connection.filename ?? "the file") is not a todo-fcgi database (application_id \(id), \(tables) schema objects)")
        }
    }

    /// The `todo_keys` row of the sync cursor key.
    static let syncCursorKeyName = "sync_cursor"

    /// Version 4 (contract §10): all-day due dates. `due_date` keeps the instant the task sorts
    /// and filters at (an all-day date's 00:00:00Z); `due_all_day` says it is a calendar date.
    /// At an equal instant all-day tasks come first in both directions, so each due-date index
    /// carries the flag in the order its direction reads it (the descending one is scanned
    /// backwards).
    private static let schemaV4 = """
        ALTER TABLE tasks ADD COLUMN due_all_day INTEGER NOT NULL DEFAULT 0
            CHECK (due_all_day IN (0, 1) AND (due_all_day = 0 OR due_date IS NOT NULL));
        DROP INDEX tasks_by_user_due;
        DROP INDEX tasks_by_user_due_desc;
        CREATE INDEX tasks_by_user_due ON tasks (user_id, due_date IS NULL, due_date, due_all_day DESC);
        CREATE INDEX tasks_by_user_due_desc ON tasks (user_id, due_date IS NOT NULL, due_date, due_all_day);
        """

    /// Version 5 (#38): each user's task counts beside their change number (`TaskCounts`), kept by
    /// every write; counted here from the tasks, for every owner (with a row of their own if they
    /// had none).
    private static let schemaV5 = """
        ALTER TABLE task_sync ADD COLUMN \(TaskCounts.tasksColumn) INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE task_sync ADD COLUMN \(TaskCounts.completedColumn) INTEGER NOT NULL DEFAULT 0;
        \(TaskCounts.recountSQL)
        """

    /// Version 6 (Addendum v2.2, CalDAV): each task's iCalendar UID and resource name, unique per
    /// owner, and the iCalendar text CalDAV clients wrote that has no field; tombstones keep the
    /// name (a `sync-collection` reports deletions by it); app passwords, stored as SHA-256
    /// digests. Existing tasks get a random UID (32 hex digits) and `{uid}.ics`, and so does a
    /// row inserted around the service without them (psql, an import), by the trigger: SQLite
    /// cannot add a column whose default differs per row.
    private static let schemaV6 = """
        ALTER TABLE tasks ADD COLUMN uid TEXT NOT NULL DEFAULT '';
        ALTER TABLE tasks ADD COLUMN resource_name TEXT NOT NULL DEFAULT '';
        ALTER TABLE tasks ADD COLUMN calendar_data TEXT;
        UPDATE tasks SET uid = lower(hex(randomblob(16)));
        UPDATE tasks SET resource_name = uid || '.ics';
        CREATE UNIQUE INDEX tasks_by_user_uid ON tasks (user_id, uid);
        CREATE UNIQUE INDEX tasks_by_user_resource ON tasks (user_id, resource_name);
        CREATE TRIGGER tasks_identity AFTER INSERT ON tasks WHEN NEW.uid = '' OR NEW.resource_name = ''
        BEGIN
            UPDATE tasks SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id AND uid = '';
            UPDATE tasks SET resource_name = uid || '.ics' WHERE id = NEW.id AND resource_name = '';
        END;
        ALTER TABLE task_tombstones ADD COLUMN resource_name TEXT;
        CREATE TABLE app_passwords (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_digest TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER
        ) STRICT;
        CREATE INDEX app_passwords_by_user ON app_passwords (user_id, id);
        """

    /// Version 3: the database's own secrets (the sync cursor key, hex), made once here and
    /// shared by every worker of the file; `copy` carries them to the destination.
    private static let schemaV3 = """
        CREATE TABLE todo_keys (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        """

    /// Version 2 (task model v2): priority, tags, due date, recurrence, completion time, next
    /// occurrence and version on each task; the per-user change counter, tombstones and
    /// idempotency keys. Existing tasks get the defaults, version 1, `completed_at` =
    /// `updated_at` when completed, and their id as their change number (ids only grow, so
    /// each user's changes stay in order), with each user's counter at their highest.
    private static let schemaV2 = """
        ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 1 CHECK (priority IN (0, 1, 2));
        ALTER TABLE tasks ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE tasks ADD COLUMN tag_keys TEXT NOT NULL DEFAULT '';
        ALTER TABLE tasks ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
        ALTER TABLE tasks ADD COLUMN due_date INTEGER;
        ALTER TABLE tasks ADD COLUMN recurrence_frequency INTEGER CHECK (recurrence_frequency BETWEEN 1 AND 4);
        ALTER TABLE tasks ADD COLUMN recurrence_interval INTEGER CHECK (recurrence_interval BETWEEN 1 AND 365);
        ALTER TABLE tasks ADD COLUMN completed_at INTEGER;
        ALTER TABLE tasks ADD COLUMN next_task_id INTEGER;
        ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE tasks ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
        UPDATE tasks SET completed_at = updated_at WHERE completed = 1;
        UPDATE tasks SET change_seq = id;
        CREATE INDEX tasks_by_user_due ON tasks (user_id, due_date IS NULL, due_date);
        CREATE INDEX tasks_by_user_due_desc ON tasks (user_id, due_date IS NOT NULL, due_date);
        CREATE INDEX tasks_by_user_priority ON tasks (user_id, priority);
        CREATE INDEX tasks_by_user_change ON tasks (user_id, change_seq);
        CREATE TABLE task_sync (
            user_id TEXT PRIMARY KEY,
            last_change INTEGER NOT NULL,
            purged_through INTEGER NOT NULL DEFAULT 0
        ) STRICT, WITHOUT ROWID;
        INSERT INTO task_sync (user_id, last_change) SELECT user_id, max(id) FROM tasks GROUP BY user_id;
        CREATE TABLE task_tombstones (
            user_id TEXT NOT NULL,
            change_seq INTEGER NOT NULL,
            task_id INTEGER NOT NULL,
            deleted_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, change_seq)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE health_probe (id INTEGER PRIMARY KEY, filler BLOB) STRICT;
        CREATE TABLE idempotency_keys (
            user_id TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            task_id INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, key)
        ) STRICT, WITHOUT ROWID;
        """

    /// `search_text` of the tasks a version-1 database already has, lower-cased by Swift as
    /// every write does (SQLite's `lower()` knows only ASCII).
    private static func fillSearchText(_ connection: SQLiteConnection) throws {
        let rows = try connection.prepare("SELECT id, title, description FROM tasks")
        let update = try connection.prepare("UPDATE tasks SET search_text = ?2 WHERE id = ?1")
        while try rows.step() {
            var state = TaskState(title: rows.string(at: 1) ?? "")
            state.description = rows.string(at: 2)
            update.reset()
            try update.bind(rows.int64(at: 0), at: 1)
            try update.bind(state.searchText, at: 2)
            try update.run()
        }
    }

    /// Version 1: one table, ids never reused (AUTOINCREMENT), indexes for each sort key per user.
    /// Rowid (the id) is the implicit last column of every index, so ties sort by id for free.
    private static let schemaV1 = """
        PRAGMA application_id = \(applicationID);
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            title TEXT NOT NULL,
            title_key TEXT NOT NULL,
            description TEXT,
            completed INTEGER NOT NULL CHECK (completed IN (0, 1)),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX tasks_by_user_created ON tasks (user_id, created_at);
        CREATE INDEX tasks_by_user_updated ON tasks (user_id, updated_at);
        CREATE INDEX tasks_by_user_title ON tasks (user_id, title_key);
        """
}

import SQLite

#if canImport(Glibc)
import Glibc
#endif

/// Opens the task database, applies connection settings and migrates the schema.
public enum TaskDatabase {
    /// `PRAGMA application_id`: marks the file as ours ("Todo"), so a foreign database is refused.
    public static let applicationID: Int64 = 0x546F_646F
    /// The schema version this build writes (`PRAGMA user_version`).
    public static let schemaVersion: Int64 = 1

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
    public static func open(_ options: Options, migrate: Bool = true) throws -> SQLiteConnection {
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
            try self.migrate(connection)
        } else {
            try requireCurrentSchema(connection)
        }
        try connection.execute("""
            PRAGMA synchronous = \(options.synchronous.rawValue.uppercased());
            PRAGMA temp_store = MEMORY;
            PRAGMA cache_size = -2000;
            """)
        return connection
    }

    /// Brings the schema to `schemaVersion`. Safe when several processes start at once:
    /// the check and the change happen inside one write transaction.
    static func migrate(_ connection: SQLiteConnection) throws {
        guard try connection.scalarInteger("PRAGMA user_version") != schemaVersion else { return }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let version = try connection.scalarInteger("PRAGMA user_version") ?? 0
            if version > schemaVersion {
                throw OpenError(description: "the database schema version \(version) is newer than this build supports (\(schemaVersion))")
            }
            if version < 1 {
                try connection.execute(schemaV1)
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

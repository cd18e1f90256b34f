import Locks
import SQLite
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Tasks in one SQLite file: the embedded default. Shared by the threads of a process, whose
/// writes share transactions through one `GroupCommit` and report failures to one `WriteHealth`.
public struct SQLiteBackend: TaskBackend {
    /// How every connection is opened.
    public let options: TaskDatabase.Options
    private let committer: GroupCommit
    private let health: WriteHealth
    private let checkpointer: SharedCheckpointer
    /// The watch of `watchFileReplacement()`, shared by the stores made after it started.
    private let fileWatch = Locked<DatabaseFileWatch?>(nil)
    /// Live sync's feed, made on first use and shared by the process's stores (which announce
    /// their durable changes to it) and its waiters.
    private let changeFeed = Locked<SharedChangeFeed?>(nil)

    /// The database at `options.path`.
    public init(options: TaskDatabase.Options, health: WriteHealth = WriteHealth()) {
        self.options = options
        self.health = health
        checkpointer = SharedCheckpointer(options: options)
        // synchronous=FULL: the group commit flushes the WAL itself, outside SQLite's write lock.
        committer = GroupCommit(flusher: options.synchronous == .full ? WALFlusher(databasePath: options.path) : nil)
    }

    /// Set once a flush of the WAL failed (the group commit then takes no more writes): the
    /// process must stop and be started again, so that SQLite recovers the WAL.
    public var fatalFailure: String? {
        committer.flushFailure.map { errno in
            "flushing \(options.path)-wal failed (\(String(cString: strerror(errno)))): writes committed since the last good "
                + "flush may not survive a power loss, and this process takes no more writes"
        }
    }

    /// Transactions committed by this process (each holds one or more writes).
    public var commits: Int { committer.commits }

    public var busyRetries: Int { SQLiteConnection.busyRetries.load(ordering: .relaxed) }

    public var displayName: String { options.path }

    public var databaseFile: String? { options.path }

    /// inotify on the file's directory (`DatabaseFileWatch`); nil for a symbolic link or when
    /// inotify is unavailable.
    public func watchFileReplacement() -> (any FileReplacementWatch)? {
        fileWatch.withLock { watch in
            if watch == nil { watch = DatabaseFileWatch(path: options.path) }
            return watch
        }
    }

    @discardableResult
    public func migrate(progress: (Int, Int) -> Void) throws(StorageError) -> Int64 {
        _ = try Self.open(options, migrate: true, progress: progress)
        return TaskDatabase.schemaVersion
    }

    /// The shared page beside the database file (`SharedChangeFeed`).
    public func makeChangeFeed() throws(StorageError) -> any ChangeFeed {
        try sharedChangeFeed()
    }

    /// The process's feed, made (and its file mapped) on first use.
    private func sharedChangeFeed() throws(StorageError) -> SharedChangeFeed {
        try changeFeed.withLock { feed -> Result<SharedChangeFeed, StorageError> in
            if let feed { return .success(feed) }
            return Result { () throws(StorageError) in try SharedChangeFeed(databasePath: options.path) }
                .map { made in
                    feed = made
                    return made
                }
        }.get()
    }

    public func makeStore() throws(StorageError) -> any TaskStore {
        let file = DatabaseFile(options: options, watch: fileWatch.withLock { $0 })
        let connection = try Self.open(options, migrate: false)
        if options.synchronous == .full {
            // Commits write their frames and release the lock; the committer flushes them before
            // any write is answered (WALFlusher): FULL's durability, without holding the lock for it.
            try Self.mapped { () throws(SQLiteError) in try connection.execute("PRAGMA synchronous = NORMAL") }
        }
        // Checkpoints run on the checkpointer's thread; a commit checkpoints only as a backstop.
        try Self.mapped { () throws(SQLiteError) in
            try connection.execute("PRAGMA wal_autocheckpoint = \(WALCheckpointer.backstopPages)")
        }
        // Without a feed (its file cannot be made), writes are not announced; waits end at their deadline.
        return SQLiteTaskStore(connection: connection, committer: committer, health: health, file: file,
                               listStatementCacheSize: options.listStatementCacheSize, checkpointer: checkpointer.acquire(),
                               changeFeed: try? sharedChangeFeed())
    }

    public func check() throws(StorageError) -> String {
        guard access(options.path, F_OK) == 0 else {
            return "database \(options.path) does not exist yet: `serve` or `migrate` will create it"
        }
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> String in
            let integrity = try connection.scalarText("PRAGMA quick_check") ?? "no answer"
            guard integrity == "ok" else {
                throw SQLiteError(code: .corrupt, message: "database \(options.path) failed its integrity check: \(integrity)")
            }
            let drifted = try connection.scalarInteger(TaskCounts.driftSQL) ?? 0
            guard drifted == 0 else { throw SQLiteError(code: .error, message: "database \(options.path): " + TaskCounts.driftMessage(drifted)) }
            let tasks = try connection.scalarInteger("SELECT count(*) FROM tasks") ?? 0
            return "database ok: \(options.path), schema version \(TaskDatabase.schemaVersion), \(tasks) tasks, SQLite \(SQLiteConnection.libraryVersion)"
        }
    }

    /// In one write transaction, which other writers wait for.
    public func recountTasks() throws(StorageError) -> Int64 {
        let connection = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> Int64 in
            try connection.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                let drifted = try connection.scalarInteger(TaskCounts.driftSQL) ?? 0
                if drifted > 0 { try connection.execute(TaskCounts.recountSQL) }
                try connection.execute("COMMIT")
                return drifted
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// `VACUUM INTO` reads one snapshot (WAL lets writers go on meanwhile) and writes a compact,
    /// self-contained file, which is then put in WAL mode and integrity-checked before it is put
    /// at `destination` (`BackupFile`).
    /// `progress` hears the bytes `VACUUM INTO` has written so far, against the source's size
    /// (the copy is compacted, so it may end below it), every few thousand steps.
    public func backup(to destination: String, replacing: Bool, progress: @escaping (Int64, Int64) -> Void) throws(StorageError) -> String {
        let output = try BackupFile(destination: destination, replacing: replacing)
        let tasks = try backup(into: output.temporaryPath, progress: progress)
        try output.publish()
        return "backed up \(options.path) to \(destination): \(tasks) tasks, integrity ok"
    }

    /// `VACUUM INTO` the empty file at `path`, then WAL mode and an integrity check; returns
    /// how many tasks the copy holds. Its connection is closed on return (no `-wal` is left).
    private func backup(into path: String, progress: @escaping (Int64, Int64) -> Void) throws(StorageError) -> Int64 {
        let source = try Self.open(options, migrate: false)
        return try Self.mapped { () throws(SQLiteError) -> Int64 in
            let pages = try source.scalarInteger("PRAGMA page_count") ?? 0
            let pageSize = try source.scalarInteger("PRAGMA page_size") ?? 4096
            let total = pages * pageSize
            let statement = try source.prepare("VACUUM INTO ?1")
            try statement.bind(path, at: 1)
            try source.withProgressHandler(every: 100_000, {
                var status = stat()
                if stat(path, &status) == 0 { progress(Int64(status.st_size), total) }
            }) { () throws(SQLiteError) in try statement.run() }
            var status = stat()
            if stat(path, &status) == 0 { progress(Int64(status.st_size), total) }
            // VACUUM INTO writes a rollback-journal file: make the copy WAL, so a restored backup
            // serves like the original (readers never block the writer).
            let copy = try SQLiteConnection(path: path, create: false)
            _ = try copy.scalarText("PRAGMA journal_mode = WAL")
            let integrity = try copy.scalarText("PRAGMA integrity_check") ?? "no answer"
            guard integrity == "ok" else {
                throw SQLiteError(code: .corrupt, message: "the backup of \(options.path) failed its integrity check: \(integrity)")
            }
            return try copy.scalarInteger("SELECT count(*) FROM tasks") ?? 0
        }
    }

    /// Opens a connection, with every failure as a storage error.
    static func open(_ options: TaskDatabase.Options, migrate: Bool,
                     progress: (Int, Int) -> Void = { _, _ in }) throws(StorageError) -> SQLiteConnection {
        do {
            return try TaskDatabase.open(options, migrate: migrate, progress: progress)
        } catch let error as SQLiteError {
            throw StorageError(error)
        } catch let error as TaskDatabase.OpenError {
            throw StorageError(error.isMissing ? .unavailable : .incompatible, error.description)
        } catch {
            throw StorageError(.internal, "\(error)")
        }
    }

    static func mapped<Result>(_ body: () throws(SQLiteError) -> Result) throws(StorageError) -> Result {
        do {
            return try body()
        } catch {
            throw StorageError(error)
        }
    }
}

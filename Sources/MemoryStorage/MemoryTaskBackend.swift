import Locks
import Synchronization
import TaskModel

/// Tasks in memory, with the same rules as the databases: versions, idempotency keys, change
/// numbers and tombstones for sync, recurrence spawn, the owner filter on everything. For the
/// application's unit tests and the conformance suite's reference; gone when the process ends.
public final class MemoryTaskBackend: TaskBackend {
    /// Behind a pthread mutex (`Locked`), which the thread sanitizer sees, unlike `Mutex`'s futex.
    let database: Locked<MemoryDatabase>
    private let committed = Atomic<Int>(0)
    private let feed = LocalChangeFeed()

    /// An empty database with a fresh sync cursor key.
    public init() throws(StorageError) {
        let hex: String
        do {
            hex = try SyncCursorKey.make()
        } catch {
            throw StorageError(.internal, "no random bytes for the sync cursor key: \(error)")
        }
        guard let key = SyncCursorKey.key(fromHex: hex) else { throw StorageError(.internal, "a new sync cursor key did not read back") }
        database = Locked(MemoryDatabase(cursorKey: key))
    }

    public var displayName: String { "memory" }
    public var commits: Int { committed.load(ordering: .relaxed) }
    public var databaseFile: String? { nil }
    public var storesNUL: Bool { true }

    /// Counts one committed write that changed `userID`'s tasks and announces it to live sync
    /// (memory is durable as soon as it is written).
    func recordChange(of userID: String) {
        committed.add(1, ordering: .relaxed)
        feed.publish(ChangeKey(userID: userID))
    }

    @discardableResult
    public func migrate(progress: (Int, Int) -> Void) throws(StorageError) -> Int64 { 1 }

    public func makeStore() throws(StorageError) -> any TaskStore { MemoryTaskStore(backend: self) }

    /// One process holds the whole database: its changes are heard in that process only.
    public func makeChangeFeed() throws(StorageError) -> any ChangeFeed { feed }

    public func check() throws(StorageError) -> String {
        "database ok: memory, \(database.withLock { $0.tasks.count }) tasks"
    }

    public func backup(to destination: String, replacing: Bool, progress: @escaping (Int64, Int64) -> Void) throws(StorageError) -> String {
        throw StorageError(.incompatible, "an in-memory database has nothing to back up")
    }

    public func exportTasks(_ each: (TaskRow) throws(StorageError) -> Void) throws(StorageError) -> Int64 {
        let (tasks, highest) = database.withLock { database in
            (database.tasks.keys.sorted().compactMap { database.tasks[$0]?.task }, database.highestIssuedID)
        }
        for task in tasks { try each(task.row) }
        return highest
    }

    public func countTasks() throws(StorageError) -> Int64 {
        Int64(database.withLock { $0.tasks.count })
    }

    public func tasksHoldingNUL() throws(StorageError) -> [Int64] {
        database.withLock { database in
            database.tasks.values.filter { entry in
                let task = entry.task
                return task.title.contains(0) || (task.description?.contains(0) ?? false) || task.tagsJSON.contains(0)
            }.map(\.task.id).sorted()
        }
    }

    public func usersWithSyncHistory() throws(StorageError) -> [String] {
        database.withLock { $0.sync.keys.sorted() }
    }

    public func exportAppPasswords() throws(StorageError) -> [StoredAppPassword] {
        database.withLock { database in
            database.appPasswords.values.map { StoredAppPassword(userID: $0.userID, password: $0.password, digest: $0.digest) }
                .sorted { $0.password.id < $1.password.id }
        }
    }

    public func makeImporter() throws(StorageError) -> any TaskImporter {
        // In the order of `CopyDestination.tables`.
        let refusal = database.withLock { database in
            CopyDestination.refusal(displayName, counts: [database.tasks.count, database.sync.count, database.tombstones.count,
                                                          database.keys.count, database.appPasswords.count].map(Int64.init))
        }
        if let refusal { throw refusal }
        return MemoryTaskImporter(backend: self)
    }
}

/// Everything a memory backend holds, behind its lock.
struct MemoryDatabase {
    /// Each task with the change number of its last write.
    var tasks: [Int64: (task: StoredTask, change: Int64)] = [:]
    /// The task id of each owner's UID and resource name: the databases' unique indexes, so an
    /// insert checks them without a scan.
    var identities: [IdentityKey: Int64] = [:]
    /// The highest id ever issued (ids are never reused).
    var highestIssuedID: Int64 = 0
    /// Per user: the last change number, and the newest change whose tombstone was purged.
    var sync: [String: (lastChange: Int64, purgedThrough: Int64)] = [:]
    /// Deleted tasks: owner, change number, id, deletion time, resource name.
    var tombstones: [(userID: String, change: Int64, taskID: Int64, deletedAt: Int64, resourceName: String)] = []
    /// Idempotency records by owner and key.
    var keys: [KeyRecordID: KeyRecord] = [:]
    /// The sync cursor key.
    var cursorKey: [UInt8]
    /// App passwords by id: owner, digest and what the owner sees.
    var appPasswords: [Int64: (userID: String, digest: String, password: AppPassword)] = [:]
    /// The highest app password id issued.
    var highestAppPasswordID: Int64 = 0

    init(cursorKey: [UInt8]) {
        self.cursorKey = cursorKey
    }

    /// One of a task's two calendar keys, with its owner.
    struct IdentityKey: Hashable {
        let userID: [UInt8]
        let key: TaskCalendarKey.Kind
        let value: [UInt8]
    }

    /// The two keys of `task`.
    static func identityKeys(of task: StoredTask) -> [IdentityKey] {
        [IdentityKey(userID: task.userID, key: .uid, value: task.uid),
         IdentityKey(userID: task.userID, key: .resourceName, value: task.resourceName)]
    }

    /// Files `task` under its keys (after a create or a copy).
    mutating func index(_ task: StoredTask) {
        for key in Self.identityKeys(of: task) { identities[key] = task.id }
    }

    /// Takes `task`'s keys away (after a delete).
    mutating func unindex(_ task: StoredTask) {
        for key in Self.identityKeys(of: task) { identities[key] = nil }
    }

    struct KeyRecordID: Hashable {
        let userID: String
        let key: String
    }

    struct KeyRecord {
        let fingerprint: String
        let taskID: Int64
        let body: [UInt8]
        let createdAt: Int64
    }

    /// The user's next change number.
    mutating func nextChange(_ userID: String) -> Int64 {
        let next = (sync[userID]?.lastChange ?? 0) + 1
        sync[userID, default: (0, 0)].lastChange = next
        return next
    }

    /// Stores `state` as a new task of `userID` created at `now`; nil, storing nothing, when
    /// another task of the user has its UID or resource name (the databases' unique indexes).
    mutating func insert(_ state: TaskState, userID: String, now: Int64) -> StoredTask? {
        let state = state.identified()
        let owner = Array(userID.utf8)
        guard identities[IdentityKey(userID: owner, key: .uid, value: Array(state.uid.utf8))] == nil,
              identities[IdentityKey(userID: owner, key: .resourceName, value: Array(state.resourceName.utf8))] == nil else { return nil }
        highestIssuedID += 1
        let task = StoredTask(id: highestIssuedID, userID: userID, state: state, now: now)
        tasks[task.id] = (task, nextChange(userID))
        index(task)
        return task
    }

    /// The refusal of an insert whose UID or resource name another task of the user has.
    static let identityTaken = StorageError(.conflict, "another task of this user has this uid or resource name")

    /// The task `id` if `userID` owns it.
    func task(_ id: Int64, of userID: String) -> StoredTask? {
        guard let entry = tasks[id], entry.task.userID.elementsEqual(userID.utf8) else { return nil }
        return entry.task
    }
}

import Locks
import MemoryStorage
import TaskModel
import Testing

/// A backend whose export, or whose import, fails after a number of tasks: what a lost source
/// connection or a refused row does to `copy` halfway through.
struct FailingBackend: TaskBackend {
    let inner: any TaskBackend
    var failExportAfter: Int?
    var failImportAfter: Int?
    /// Rows the export handed on before it stopped.
    let exported = Locked(0)

    var displayName: String { "failing " + inner.displayName }
    var commits: Int { inner.commits }
    var databaseFile: String? { nil }
    var storesNUL: Bool { inner.storesNUL }
    func migrate(progress: (Int, Int) -> Void) throws(StorageError) -> Int64 { try inner.migrate(progress: progress) }
    func makeStore() throws(StorageError) -> any TaskStore { try inner.makeStore() }
    func makeChangeFeed() throws(StorageError) -> any ChangeFeed { try inner.makeChangeFeed() }
    func check() throws(StorageError) -> String { try inner.check() }
    func backup(to destination: String, replacing: Bool, progress: @escaping (Int64, Int64) -> Void) throws(StorageError) -> String {
        try inner.backup(to: destination, replacing: replacing, progress: progress)
    }
    func countTasks() throws(StorageError) -> Int64 { try inner.countTasks() }
    func usersWithSyncHistory() throws(StorageError) -> [String] { try inner.usersWithSyncHistory() }
    func exportAppPasswords() throws(StorageError) -> [StoredAppPassword] { try inner.exportAppPasswords() }
    func tasksHoldingNUL() throws(StorageError) -> [Int64] { try inner.tasksHoldingNUL() }

    func exportTasks(_ each: (TaskRow) throws(StorageError) -> Void) throws(StorageError) -> Int64 {
        try inner.exportTasks { (task) throws(StorageError) in
            if let limit = failExportAfter, exported.withLock({ $0 }) == limit { throw StorageError(.unavailable, "the source went away") }
            try each(task)
            exported.withLock { $0 += 1 }
        }
    }

    func makeImporter() throws(StorageError) -> any TaskImporter {
        FailingImporter(inner: try inner.makeImporter(), failAfter: failImportAfter)
    }
}

final class FailingImporter: TaskImporter {
    let inner: any TaskImporter
    let failAfter: Int?
    var inserted = 0

    init(inner: any TaskImporter, failAfter: Int?) {
        self.inner = inner
        self.failAfter = failAfter
    }

    func insert(_ batch: StoredRowBatch) throws(StorageError) {
        if let failAfter, inserted + batch.count > failAfter { throw StorageError(.conflict, "the destination refused a row") }
        try inner.insert(batch)
        inserted += batch.count
    }

    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8], syncUsers: [String],
                appPasswords: [StoredAppPassword]) throws(StorageError) -> Int {
        try inner.finish(highestIssuedID: highestIssuedID, syncCursorKey: syncCursorKey, syncUsers: syncUsers, appPasswords: appPasswords)
    }
}

/// `copy` reads on one thread and writes on another: a failure on either side stops both,
/// comes out as the copy's error, and leaves nothing in the destination.
@Suite struct TaskCopyFailureTests {
    static let tasks = 6_000

    func source(failExportAfter: Int? = nil) throws -> FailingBackend {
        let inner = try MemoryTaskBackend()
        let store = try inner.makeStore()
        for index in 0..<Self.tasks {
            _ = try store.create(userID: "u\(index % 7)", state: TaskState(title: "t\(index)"), now: 1_795_000_000_000)
        }
        return FailingBackend(inner: inner, failExportAfter: failExportAfter)
    }

    @Test(arguments: BackendKind.available)
    func aSourceThatFailsHalfwayLeavesTheDestinationEmptyAndUsable(_ kind: BackendKind) throws {
        let source = try source(failExportAfter: 1_500)
        let destination = try FreshDatabase(kind)
        do {
            _ = try TaskCopy.run(from: source, to: destination.backend)
            Issue.record("the copy succeeded")
        } catch {
            #expect(error.message == "the source went away")
        }
        #expect(try destination.backend.countTasks() == 0)
        // No lock, transaction or half-built index is left behind: the next copy goes through.
        let whole = try self.source()
        #expect(try TaskCopy.run(from: whole, to: destination.backend).count == Self.tasks)
        #expect(try destination.backend.countTasks() == Int64(Self.tasks))
    }

    @Test(arguments: BackendKind.available)
    func aDestinationThatFailsHalfwayStopsTheReaderEarlyAndKeepsNothing(_ kind: BackendKind) throws {
        let source = try source()
        let database = try FreshDatabase(kind)
        let destination = FailingBackend(inner: database.backend, failImportAfter: 1_500)
        do {
            _ = try TaskCopy.run(from: source, to: destination)
            Issue.record("the copy succeeded")
        } catch {
            #expect(error.message == "the destination refused a row")
        }
        #expect(try database.backend.countTasks() == 0)
        // The reader was told to stop: it never read to the end.
        #expect(source.exported.withLock { $0 } < Self.tasks)
        // And the destination takes the next copy.
        #expect(try TaskCopy.run(from: try self.source(), to: database.backend).count == Self.tasks)
    }
}

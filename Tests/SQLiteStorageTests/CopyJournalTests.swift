import SQLite
import SQLiteStorage
import TaskModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `copy` into SQLite writes under a rollback journal when it has the file to itself, and the
/// file is in WAL again afterwards whatever happened.
@Suite struct CopyJournalTests {
    final class Files {
        let paths = (0..<2).map { _ in "/tmp/todo-fcgi-copy-journal-\(UInt64.random(in: 0...UInt64.max)).db" }
        deinit { for path in paths { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) } } }
    }

    /// The journal mode the file holds, read without `TaskDatabase.open` (which sets WAL).
    func journalMode(_ path: String) throws -> String? {
        try SQLiteConnection(path: path, create: false).scalarText("PRAGMA journal_mode")
    }

    func source(_ path: String, tasks: Int) throws -> SQLiteBackend {
        let backend = SQLiteBackend(options: TaskDatabase.Options(path: path))
        try backend.migrate()
        let store = try backend.makeStore()
        for index in 0..<tasks { _ = try store.create(userID: "u\(index % 3)", state: TaskState(title: "t\(index)"), now: 1_795_000_000_000) }
        return backend
    }

    @Test func aCopyLeavesTheFileInWALWithNoJournalBehind() throws {
        let files = Files()
        let from = try source(files.paths[0], tasks: 2_500)
        let to = SQLiteBackend(options: TaskDatabase.Options(path: files.paths[1]))
        #expect(try TaskCopy.run(from: from, to: to).count == 2_500)
        #expect(try journalMode(files.paths[1]) == "wal")
        #expect(access(files.paths[1] + "-journal", F_OK) != 0)
        #expect(try to.countTasks() == 2_500)
    }

    @Test func aCopyIntoAFileAnotherConnectionHoldsOpenGoesThroughInWAL() throws {
        let files = Files()
        let from = try source(files.paths[0], tasks: 1_200)
        let to = SQLiteBackend(options: TaskDatabase.Options(path: files.paths[1]))
        try to.migrate()
        // A server's connection on the destination: leaving WAL is impossible, the copy still runs.
        let other = try TaskDatabase.open(TaskDatabase.Options(path: files.paths[1]), migrate: false)
        #expect(try other.scalarInteger("SELECT count(*) FROM tasks") == 0)
        #expect(try TaskCopy.run(from: from, to: to).count == 1_200)
        #expect(try other.scalarInteger("SELECT count(*) FROM tasks") == 1_200)
        #expect(try journalMode(files.paths[1]) == "wal")
    }

    @Test func aRefusedCopyLeavesTheFileInWAL() throws {
        let files = Files()
        let from = try source(files.paths[0], tasks: 10)
        let to = try source(files.paths[1], tasks: 1)
        #expect(throws: StorageError.self) { _ = try TaskCopy.run(from: from, to: to) }
        #expect(try journalMode(files.paths[1]) == "wal")
        #expect(try to.countTasks() == 1)
    }
}

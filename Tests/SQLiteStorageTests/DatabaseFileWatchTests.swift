import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// The database file's watch: what it hears, and how a store relies on it instead of a `stat`
/// before every operation.
@Suite("Database file watch")
struct DatabaseFileWatchTests {
    /// A fresh directory holding a migrated database `todo.db`.
    final class Directory {
        let path: String
        var database: String { path + "/todo.db" }

        init() throws {
            path = "/tmp/todo-fcgi-watch-\(UInt64.random(in: 0...UInt64.max))"
            mkdir(path, 0o700)
            try SQLiteBackend(options: TaskDatabase.Options(path: path + "/todo.db")).migrate()
        }

        deinit {
            _ = system("rm -rf '\(path)'")
        }

        func touch(_ name: String) {
            close(open(path + "/" + name, O_CREAT | O_WRONLY, 0o600))
        }
    }

    func isUnavailable(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch let error as StorageError {
            return error.kind == .unavailable
        } catch {
            return false
        }
    }

    @Test func itHearsWhatHappensToTheDatabasesNameAndNothingElse() throws {
        let directory = try Directory()
        let watch = try #require(DatabaseFileWatch(path: directory.database))
        let mark = watch.mark()
        directory.touch("other")
        rename(directory.path + "/other", directory.path + "/other-2")
        unlink(directory.path + "/other-2")
        directory.touch("todo.db-journal")
        watch.drain()
        #expect(watch.vouches(for: mark), "events about other names moved the watch")
        directory.touch("replacement")
        rename(directory.path + "/replacement", directory.database)
        #expect(watch.vouches(for: mark), "heard before it was drained")
        watch.drain()
        #expect(!watch.vouches(for: mark))
        let next = watch.mark()
        #expect(watch.vouches(for: next))
        unlink(directory.database)
        watch.drain()
        #expect(!watch.vouches(for: next))
    }

    @Test func aStoreRefusesAReplacedFileOnceTheWatchHeardIt() throws {
        let directory = try Directory()
        let backend = SQLiteBackend(options: TaskDatabase.Options(path: directory.database))
        let watch = try #require(backend.watchFileReplacement())
        let store = try backend.makeStore()
        _ = try store.create(userID: "u", state: TaskState(title: "kept"), now: 1)
        #expect(try store.list(userID: "u", query: TaskListQuery()) { _ in } == 1)
        // Another database takes the path (a live restore).
        try SQLiteBackend(options: TaskDatabase.Options(path: directory.path + "/restored.db")).migrate()
        rename(directory.path + "/restored.db", directory.database)
        // Not drained yet: the store trusts the watch and skips its `stat` (what the watch is for).
        #expect(try store.list(userID: "u", query: TaskListQuery()) { _ in } == 1)
        watch.drain()
        #expect(isUnavailable { _ = try store.list(userID: "u", query: TaskListQuery()) { _ in } })
        #expect(isUnavailable { _ = try store.create(userID: "u", state: TaskState(title: "lost?"), now: 2) })
    }

    @Test func aStoreChecksTheFileItselfAtLeastOnceASecond() throws {
        let directory = try Directory()
        let backend = SQLiteBackend(options: TaskDatabase.Options(path: directory.database))
        _ = try #require(backend.watchFileReplacement())  // never drained: as if it heard nothing
        let store = try backend.makeStore()
        #expect(try store.list(userID: "u", query: TaskListQuery()) { _ in } == 0)
        rename(directory.database, directory.path + "/aside.db")
        usleep(1_100_000)
        #expect(isUnavailable { _ = try store.list(userID: "u", query: TaskListQuery()) { _ in } })
    }

    @Test func aDirectoryMovedAwayLeavesTheWatchUntrusted() throws {
        let directory = try Directory()
        let watch = try #require(DatabaseFileWatch(path: directory.database))
        let mark = watch.mark()
        rename(directory.path, directory.path + "-moved")
        defer { rename(directory.path + "-moved", directory.path) }
        watch.drain()
        #expect(!watch.vouches(for: mark))
        #expect(!watch.vouches(for: watch.mark()), "a watch that followed its directory away vouches for nothing")
    }

    @Test func aSymbolicLinkOrAMissingFileIsNotWatched() throws {
        let directory = try Directory()
        symlink(directory.database, directory.path + "/link.db")
        #expect(DatabaseFileWatch(path: directory.path + "/link.db") == nil)
        #expect(DatabaseFileWatch(path: directory.path + "/absent.db") == nil)
        let backend = SQLiteBackend(options: TaskDatabase.Options(path: directory.path + "/link.db"))
        #expect(backend.watchFileReplacement() == nil)
    }
}

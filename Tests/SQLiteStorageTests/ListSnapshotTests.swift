import SQLite
import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// A list's page and its total come from one snapshot: a write committed by another connection
/// while the page is being read is in neither (a total counted after the page, outside its read
/// transaction, would count it).
@Suite("List snapshot")
struct ListSnapshotTests {
    let path = "/tmp/todo-fcgi-list-snapshot-\(UInt64.random(in: 0...UInt64.max)).db"

    func remove() { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }

    func stores() throws -> (reader: SQLiteTaskStore, writer: SQLiteTaskStore) {
        let options = TaskDatabase.Options(path: path)
        return (SQLiteTaskStore(connection: try TaskDatabase.open(options)), SQLiteTaskStore(connection: try TaskDatabase.open(options)))
    }

    @Test(arguments: [2, 5, 6])
    func aWriteCommittedWhileAPageIsReadIsNotInItsTotal(limit: Int) throws {
        defer { remove() }
        let (reader, writer) = try stores()
        for index in 0..<5 { _ = try writer.create(userID: "u", state: TaskState(title: "t\(index)"), now: 1) }
        var query = TaskListQuery()
        query.limit = limit
        var rows = 0
        let total = try reader.list(userID: "u", query: query) { _ in
            if rows == 0 { _ = try? writer.create(userID: "u", state: TaskState(title: "during"), now: 2) }
            rows += 1
        }
        #expect(rows == min(limit, 5))
        #expect(total == 5, "the page saw 5 tasks, the total says \(total)")
        // Committed all the same: the next list sees it.
        #expect(try reader.list(userID: "u", query: query) { _ in } == 6)
    }
}

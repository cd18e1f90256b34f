import SQLite
import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Every statement the API runs on tasks is a range search on the owner's rows through an
/// index: no full scan, so no statement reads other users' rows, and a large table costs a user
/// only their own tasks.
@Suite("Query plans")
struct QueryPlanTests {
    func plan(_ connection: SQLiteConnection, _ sql: String) throws -> String {
        let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        var steps: [String] = []
        while try statement.step() { steps.append(statement.string(at: 3) ?? "") }
        return steps.joined(separator: "; ")
    }

    @Test func everyListStatementSearchesTheOwnersIndexRange() throws {
        let path = "/tmp/todo-fcgi-plans-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
        for status in TaskListQuery.Status.allCases {
            for sort in TaskListQuery.Sort.allCases {
                for order in TaskListQuery.Order.allCases {
                    var query = TaskListQuery()
                    (query.status, query.sort, query.order) = (status, sort, order)
                    let sql = SQLiteTaskStore.listSQL(query)
                    let steps = try plan(connection, sql.page)
                    #expect(steps.hasPrefix("SEARCH tasks USING ") && steps.contains("INDEX tasks_by_user_") && steps.contains("(user_id=?)"),
                            "\(status) \(sort) \(order): \(steps)")
                    #expect(!steps.contains("SCAN"), "\(steps)")
                    // With no filter but the status, the count is the user's counters: one row (#38).
                    #expect(try plan(connection, sql.count) == "SCAN CONSTANT ROW; SCALAR SUBQUERY 1; SEARCH task_sync USING PRIMARY KEY (user_id=?)",
                            "\(status) \(sort) \(order)")
                    // The page's order comes from the index: no sort step over the user's rows.
                    #expect(!(try plan(connection, sql.page)).contains("TEMP B-TREE"), "\(status) \(sort) \(order)")
                }
            }
        }
        #expect(try plan(connection, SQLiteTaskStore.findSQL) == "SEARCH tasks USING INTEGER PRIMARY KEY (rowid=?)")
    }

    /// A count the counters cannot give (any filter but the status) still reads only the owner's
    /// index range.
    @Test func aFilteredCountSearchesTheOwnersIndexRange() throws {
        let path = "/tmp/todo-fcgi-plans-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
        var filters: [TaskListQuery] = []
        var query = TaskListQuery()
        query.priorities = [.high]
        filters.append(query)
        query = TaskListQuery()
        query.tags = ["gym"]
        filters.append(query)
        query = TaskListQuery()
        query.searchTerms = ["dentist"]
        filters.append(query)
        query = TaskListQuery()
        query.dueBefore = 1_800_000_000_000
        filters.append(query)
        query = TaskListQuery()
        query.hasDue = true
        filters.append(query)
        for filter in filters {
            #expect(!TaskCounts.give(filter))
            let steps = try plan(connection, SQLiteTaskStore.listSQL(filter).count)
            #expect(steps.hasPrefix("SEARCH tasks USING ") && steps.contains("(user_id=?"), "\(steps)")
            #expect(!steps.contains("SCAN"), "\(steps)")
        }
    }
}

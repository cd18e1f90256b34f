import TaskModel
import Testing

/// A list's `X-Total-Count` with no filter but the status comes from each user's counters (#38):
/// on every backend they equal a count of the tasks after every kind of write, and after `copy`.
@Suite("Task counts")
struct TaskCountConformanceTests {
    private static let now: Int64 = 1_795_000_000_000

    /// The total of `status` as a list reports it (from the counters where the backend keeps them).
    private func counted(_ store: any TaskStore, _ user: String, _ status: TaskListQuery.Status) throws -> Int64 {
        var query = TaskListQuery()
        query.status = status
        query.limit = 1
        return try store.list(userID: user, query: query) { _ in }
    }

    /// The same total counted over the tasks: two priority filters, which the counters cannot give.
    private func recounted(_ store: any TaskStore, _ user: String, _ status: TaskListQuery.Status) throws -> Int64 {
        var total: Int64 = 0
        for priorities in [Set([TaskPriority.low, .medium]), [.high]] {
            var query = TaskListQuery()
            query.status = status
            query.priorities = priorities
            query.limit = 1
            #expect(!TaskCounts.give(query))
            total += try store.list(userID: user, query: query) { _ in }
        }
        return total
    }

    private func expectCounts(_ store: any TaskStore, _ user: String, all: Int64, completed: Int64,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (status, expected) in [(TaskListQuery.Status.all, all), (.completed, completed), (.pending, all - completed)] {
            #expect(try counted(store, user, status) == expected, "\(status)", sourceLocation: sourceLocation)
            #expect(try recounted(store, user, status) == expected, "\(status) recounted", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: BackendKind.available)
    func theCountsFollowEveryKindOfWrite(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        try expectCounts(store, "alice", all: 0, completed: 0)
        let open = try store.create(userID: "alice", state: TaskState(title: "open"), now: Self.now)
        var done = TaskState(title: "done")
        done.completed = true
        done.priority = .high
        let finished = try store.create(userID: "alice", state: done, now: Self.now)
        _ = try store.create(userID: "bob", state: done, now: Self.now)  // another user's count is theirs
        try expectCounts(store, "alice", all: 2, completed: 1)
        _ = try store.update(userID: "alice", id: open.id, update: TaskUpdate(.complete(true)), now: Self.now + 1)
        try expectCounts(store, "alice", all: 2, completed: 2)
        _ = try store.update(userID: "alice", id: open.id, update: TaskUpdate(.complete(true)), now: Self.now + 2)  // no change
        var reopened = TaskChanges()
        reopened.title = "reopened"
        reopened.completed = false
        _ = try store.update(userID: "alice", id: finished.id, update: TaskUpdate(.replace(reopened)), now: Self.now + 3)
        try expectCounts(store, "alice", all: 2, completed: 1)
        // Completing a recurring task adds its next occurrence, pending.
        var rent = TaskState(title: "rent")
        rent.dueDate = .day(startingAt: 1_832_889_600_000)
        rent.recurrence = TaskRecurrence(frequency: .monthly)
        let recurring = try store.create(userID: "alice", state: rent, now: Self.now + 4)
        _ = try store.update(userID: "alice", id: recurring.id, update: TaskUpdate(.complete(true)), now: Self.now + 5)
        try expectCounts(store, "alice", all: 4, completed: 2)
        // A replayed keyed create counts once; a refused write counts nothing.
        let key = IdempotencyKey(key: "k", fingerprint: "f")
        for _ in 0..<2 {
            _ = try store.create(userID: "alice", state: TaskState(title: "keyed"), now: Self.now + 6, idempotency: key, render: { _ in [] })
        }
        _ = try store.update(userID: "alice", id: open.id, update: TaskUpdate(.complete(false), ifMatch: "\"999\""), now: Self.now + 7)
        try expectCounts(store, "alice", all: 5, completed: 2)
        #expect(try store.delete(userID: "alice", id: open.id, deletion: TaskDeletion(ifMatch: nil), now: Self.now + 8) == .deleted)
        #expect(try store.delete(userID: "alice", id: finished.id, deletion: TaskDeletion(ifMatch: nil), now: Self.now + 9) == .deleted)
        #expect(try store.delete(userID: "alice", id: finished.id, deletion: TaskDeletion(ifMatch: nil), now: Self.now + 10) == .notFound)
        try expectCounts(store, "alice", all: 3, completed: 1)
        try expectCounts(store, "bob", all: 1, completed: 1)
    }

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func aCopyCarriesTheCounts(_ kind: BackendKind) throws {
        let source = try FreshDatabase(kind)
        let store = try source.store()
        for number in 0..<7 {
            var state = TaskState(title: "copied item\(number)")
            state.completed = number % 3 == 0
            _ = try store.create(userID: number % 2 == 0 ? "alice" : "bob", state: state, now: Self.now + Int64(number))
        }
        let destination = try FreshDatabase(kind, migrated: false)
        _ = try TaskCopy.run(from: source.backend, to: destination.backend)
        let copied = try destination.store()
        try expectCounts(copied, "alice", all: 4, completed: 2)
        try expectCounts(copied, "bob", all: 3, completed: 1)
        var query = TaskListQuery()
        query.searchTerms = ["item"]
        #expect(try copied.list(userID: "alice", query: query) { _ in } == 4)
        query.searchTerms = ["item3"]
        #expect(try copied.list(userID: "bob", query: query) { _ in } == 1)
    }
}

/// A database of the schema before the counters gets them counted by `migrate`.
@Suite("Task counts: migration")
struct TaskCountMigrationTests {
    private static let now: Int64 = 1_795_000_000_000

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func migratingCountsEveryOwnersTasks(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        for number in 0..<5 {
            var state = TaskState(title: "item\(number)")
            state.completed = number < 2
            _ = try store.create(userID: number < 3 ? "alice" : "bob", state: state, now: Self.now)
        }
        // Back to the schema before the counters, with bob's change-number row gone too (an owner
        // may have tasks and no row: written before sync existed).
        let drop = CalendarSchemaUndo.sql(kind)
            + "ALTER TABLE task_sync DROP COLUMN \(TaskCounts.tasksColumn); ALTER TABLE task_sync DROP COLUMN \(TaskCounts.completedColumn);"
        try database.execute(kind == .sqlite
            ? drop + " DELETE FROM task_sync WHERE user_id = 'bob'; PRAGMA user_version = 4"
            : drop + " SELECT set_config('todo.user_id', 'bob', false); DELETE FROM task_sync; UPDATE todo_schema SET version = 6")
        var applied: [(Int, Int)] = []
        try database.backendOfAnotherProcess().migrate { applied.append(($0, $1)) }
        #expect(applied.last.map { $0.0 == $0.1 && $0.0 >= 1 } == true)
        let migrated = try database.backendOfAnotherProcess().makeStore()
        var query = TaskListQuery()
        #expect(try migrated.list(userID: "alice", query: query) { _ in } == 3)
        #expect(try migrated.list(userID: "bob", query: query) { _ in } == 2)
        query.status = .completed
        #expect(try migrated.list(userID: "alice", query: query) { _ in } == 2)
        #expect(try migrated.list(userID: "bob", query: query) { _ in } == 0)
        query = TaskListQuery()
        query.searchTerms = ["item1"]
        #expect(try migrated.list(userID: "bob", query: query) { _ in } == 0)
        query.searchTerms = ["item3", "m"]
        var found: [String] = []
        _ = try migrated.list(userID: "bob", query: query) { found.append(String(decoding: StoredTask($0).title, as: UTF8.self)) }
        #expect(found == ["item3"])
    }
}

/// Rows written outside the service leave the counters off: `check` says so, and `recount`
/// mends them, on both databases.
@Suite("Task counts: check and recount")
struct TaskRecountTests {
    private static let now: Int64 = 1_795_000_000_000

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func checkReportsCountsWrittenAroundTheServiceAndRecountMendsThem(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        for number in 0..<4 {
            _ = try store.create(userID: number < 2 ? "alice" : "bob", state: TaskState(title: "task \(number)"), now: Self.now)
        }
        #expect(try database.backend.recountTasks() == 0)
        _ = try database.backend.check()
        // Alice's counter edited, and one of Bob's tasks deleted, behind the service's back.
        try database.execute(kind == .sqlite
            ? "UPDATE task_sync SET \(TaskCounts.tasksColumn) = 99 WHERE user_id = 'alice'; DELETE FROM tasks WHERE user_id = 'bob' AND title = 'task 3'"
            : "SELECT set_config('todo.user_id', 'alice', false); UPDATE task_sync SET \(TaskCounts.tasksColumn) = 99;"
                + " SELECT set_config('todo.user_id', 'bob', false); DELETE FROM tasks WHERE title = 'task 3'")
        #expect(throws: StorageError.self) { try database.backend.check() }
        do {
            _ = try database.backend.check()
        } catch {
            #expect(error.message.contains("2 users' task counts differ from their tasks"), "\(error.message)")
        }
        #expect(try database.backend.recountTasks() == 2)
        var query = TaskListQuery()
        query.limit = 1
        #expect(try store.list(userID: "alice", query: query) { _ in } == 2)
        #expect(try store.list(userID: "bob", query: query) { _ in } == 1)
        _ = try database.backend.check()
        #expect(try database.backend.recountTasks() == 0)
    }
}

/// Takes a database back from the CalDAV schema (SQLite 6, PostgreSQL 8) to the one before,
/// for tests that start from an older schema.
enum CalendarSchemaUndo {
    static func sql(_ kind: BackendKind) -> String {
        let common = """
            ALTER TABLE tasks DROP COLUMN uid; ALTER TABLE tasks DROP COLUMN resource_name; ALTER TABLE tasks DROP COLUMN calendar_data;
            ALTER TABLE task_tombstones DROP COLUMN resource_name; DROP TABLE app_passwords;
            """
        return kind == .sqlite
            ? "DROP TRIGGER tasks_identity; DROP INDEX tasks_by_user_uid; DROP INDEX tasks_by_user_resource; " + common
            : "DROP TRIGGER tasks_resource_name ON tasks; DROP FUNCTION todo_task_resource_name(); " + common
    }
}

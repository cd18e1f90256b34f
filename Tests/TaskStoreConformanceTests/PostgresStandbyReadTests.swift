import PostgreSQL
@testable import PostgresStorage
import TaskModel
import Testing

/// Reads from a hot standby that never miss the reader's own writes (#37, item 3). The test
/// server has no standby of its own: the database serves as its own "read database", so these
/// tests hold the routing (which reads are offered, which the check keeps, what a failure does)
/// and IntegrationTests/test_standby_reads.py holds a real standby that lags.
@Suite(.enabled(if: BackendKind.postgresAdminURI != nil, "needs TODO_TEST_POSTGRES"))
struct PostgresStandbyReadTests {
    private let now: Int64 = 1_795_000_000_000

    /// A fresh database, and a backend whose read database is `readURI` (default: itself).
    private func backend(readURI: String? = nil) throws -> (FreshDatabase, PostgresBackend) {
        let database = try FreshDatabase(.postgresql)
        return (database, try PostgresBackend(connectionString: database.location, readConnectionString: readURI ?? database.location))
    }

    @Test func everyWriteThatGoesThroughNamesTheUsersLastChange() throws {
        let (database, backend) = try backend()
        defer { withExtendedLifetime(database) {} }
        let store = try backend.makeStore()
        let first = try store.create(userID: "alice", state: TaskState(title: "one"), now: now)
        #expect(store.changeAfterLastWrite == 1)
        _ = try store.create(userID: "alice", state: TaskState(title: "two"), now: now)
        #expect(store.changeAfterLastWrite == 2)
        _ = try store.create(userID: "bob", state: TaskState(title: "another user's"), now: now)
        #expect(store.changeAfterLastWrite == 1)
        var changes = TaskChanges()
        changes.title = "renamed"
        _ = try store.update(userID: "alice", id: first.id, update: TaskUpdate(.merge(changes)), now: now + 1)
        #expect(store.changeAfterLastWrite == 3)
        // A merge that changes nothing writes nothing, and still names everything before it.
        guard case .unchanged = try store.update(userID: "alice", id: first.id, update: TaskUpdate(.merge(changes)), now: now + 2) else {
            Issue.record("expected no change")
            return
        }
        #expect(store.changeAfterLastWrite == 3)
        let key = IdempotencyKey(key: "k1", fingerprint: "f")
        _ = try store.create(userID: "alice", state: TaskState(title: "keyed"), now: now + 3, idempotency: key, render: { _ in [] })
        #expect(store.changeAfterLastWrite == 4)
        #expect(try store.delete(userID: "alice", id: first.id, deletion: TaskDeletion(ifMatch: nil), now: now + 4) == .deleted)
        #expect(store.changeAfterLastWrite == 5)
        // A replay names the user's last change, which holds the keyed create and all after it.
        guard case .replayed = try store.create(userID: "alice", state: TaskState(title: "keyed"), now: now + 5, idempotency: key,
                                                render: { _ in [] }) else {
            Issue.record("expected a replay")
            return
        }
        #expect(store.changeAfterLastWrite == 5)
        // A write that did not go through names nothing.
        #expect(try store.delete(userID: "alice", id: first.id, deletion: TaskDeletion(ifMatch: nil), now: now + 6) == .notFound)
        #expect(store.changeAfterLastWrite == nil)
        _ = try store.update(userID: "alice", id: 999_999, update: TaskUpdate(.merge(changes)), now: now + 7)
        #expect(store.changeAfterLastWrite == nil)
    }

    @Test func aReadGoesToTheStandbyOnlyWhenItShowsTheChangeItNeeds() throws {
        let (database, backend) = try backend()
        defer { withExtendedLifetime(database) {} }
        let store = try backend.makeStore()
        let task = try store.create(userID: "alice", state: TaskState(title: "mine"), now: now)
        let change = try #require(store.changeAfterLastWrite)
        var titles: [String] = []
        let total = try store.list(userID: "alice", query: TaskListQuery(), consistency: .atLeast(change)) {
            titles.append(String(decoding: StoredTask($0).title, as: UTF8.self))
        }
        #expect(total == 1 && titles == ["mine"])
        #expect(backend.replicaReads == ReplicaReadCounts(served: 1))
        // Past what the standby shows: the primary answers, with the same rows.
        let found = try store.find(userID: "alice", id: task.id, consistency: .atLeast(change + 1)) { StoredTask($0) }
        #expect(found?.title == Array("mine".utf8))
        #expect(backend.replicaReads == ReplicaReadCounts(served: 1, behind: 1))
        // Another user's change numbers say nothing of this user's: the check is the reader's own.
        _ = try store.create(userID: "bob", state: TaskState(title: "b1"), now: now)
        _ = try store.create(userID: "bob", state: TaskState(title: "b2"), now: now)
        #expect(try store.find(userID: "alice", id: task.id, consistency: .atLeast(2)) { _ in true } == true)
        #expect(backend.replicaReads == ReplicaReadCounts(served: 1, behind: 2))
        // A read that needs the latest never reaches the standby.
        _ = try store.list(userID: "alice", query: TaskListQuery(), consistency: .latest) { _ in }
        #expect(backend.replicaReads == ReplicaReadCounts(served: 1, behind: 2))
    }

    @Test func aSyncPageOnTheStandbyNeedsTheCursorsChangeToo() throws {
        let (database, backend) = try backend()
        defer { withExtendedLifetime(database) {} }
        let store = try backend.makeStore()
        for title in ["a", "b", "c"] { _ = try store.create(userID: "alice", state: TaskState(title: title), now: now) }
        let page = try store.syncPage(userID: "alice", since: nil, limit: 2, consistency: .atLeast(1))
        #expect(page.tasks.count == 2 && page.hasMore)
        #expect(backend.replicaReads.served == 1)
        let rest = try store.syncPage(userID: "alice", since: page.cursor, limit: 2, consistency: .atLeast(1))
        #expect(rest.tasks.count == 1 && !rest.hasMore)
        #expect(backend.replicaReads.served == 2)
        // A cursor past what the standby shows (here: past everything) is the primary's to judge.
        let ahead = SyncPosition(change: 50, floor: 0)
        #expect(try store.syncPage(userID: "alice", since: ahead, limit: 2, consistency: .atLeast(1)).refusal == .unknown)
        #expect(backend.replicaReads == ReplicaReadCounts(served: 2, behind: 1))
    }

    @Test func aStandbyThatCannotBeReachedLeavesEveryReadToThePrimary() throws {
        let (database, backend) = try backend(readURI: "postgresql://todo@/todo?host=/nonexistent-todo-standby&connect_timeout=1")
        defer { withExtendedLifetime(database) {} }
        let store = try backend.makeStore()
        let task = try store.create(userID: "alice", state: TaskState(title: "kept"), now: now)
        let change = try #require(store.changeAfterLastWrite)
        #expect(try store.find(userID: "alice", id: task.id, consistency: .atLeast(change)) { StoredTask($0).title } == Array("kept".utf8))
        #expect(try store.list(userID: "alice", query: TaskListQuery(), consistency: .atLeast(change)) { _ in } == 1)
        #expect(backend.replicaReads == ReplicaReadCounts(unavailable: 2))
    }

    @Test func aReadDatabaseOfAnotherSchemaIsNeverRead() throws {
        let (database, _) = try backend()
        let other = try FreshDatabase(.postgresql, migrated: false)
        defer { withExtendedLifetime((database, other)) {} }
        let backend = try PostgresBackend(connectionString: database.location, readConnectionString: other.location)
        let store = try backend.makeStore()
        let task = try store.create(userID: "alice", state: TaskState(title: "x"), now: now)
        #expect(try store.find(userID: "alice", id: task.id, consistency: .atLeast(1)) { _ in true } == true)
        #expect(backend.replicaReads == ReplicaReadCounts(unavailable: 1))
        #expect(throws: StorageError.self) { try backend.check() }
    }
}

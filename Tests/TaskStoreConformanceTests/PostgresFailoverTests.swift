import Locks
import PostgreSQL
@testable import PostgresStorage
import TaskModel
import Testing

/// What a worker's connection does when its server stops taking writes (#37): a switchover or a
/// fenced primary leaves it on a read-only server, which refuses writes with SQLSTATE 25006.
@Suite(.enabled(if: BackendKind.postgresAdminURI != nil, "needs TODO_TEST_POSTGRES"))
struct PostgresFailoverTests {
    /// A store whose first connection finds its server read-only (a session that cannot write,
    /// as on a demoted primary), and whose later ones reach a writable one; and its events.
    private func storeOnATurnedServer(_ database: FreshDatabase, attempts: Locked<Int>) -> (PostgresTaskStore, ConnectionEvents) {
        let events = ConnectionEvents()
        let store = PostgresTaskStore(connectionString: database.location, commits: CommitCounter(), changeFeed: LocalChangeFeed(),
                                      events: events) { (uri: String) throws(StorageError) -> PostgresConnection in
            let connection = try PostgresTaskStore.serving(uri, preparedStatementLimit: 64)
            guard attempts.withLock({ $0 += 1; return $0 }) == 1 else { return connection }
            do throws(PostgresError) {
                try connection.execute("SET default_transaction_read_only = on")
            } catch {
                throw StorageError(error)
            }
            return connection
        }
        return (store, events)
    }

    @Test func aCreateRefusedByAServerTurnedReadOnlyIsMadeOnANewConnection() throws {
        let database = try FreshDatabase(.postgresql)
        let attempts = Locked(0)
        let (store, events) = storeOnATurnedServer(database, attempts: attempts)
        let task = try store.create(userID: "alice", state: TaskState(title: "after the switchover"), now: 1_795_000_000_000)
        #expect(attempts.withLock { $0 } == 2)
        #expect(events.reconnections == 1)
        let found = try #require(try store.find(userID: "alice", id: task.id) { StoredTask($0) })
        #expect(found.title == Array("after the switchover".utf8))
    }

    @Test func anUpdateAndAKeyedCreateRefusedByAReadOnlyServerAreMadeOnANewConnection() throws {
        let database = try FreshDatabase(.postgresql)
        let task = try database.store().create(userID: "bob", state: TaskState(title: "t"), now: 1_795_000_000_000)
        var changes = TaskChanges()
        changes.title = "renamed"
        let updating = Locked(0)
        let (updater, _) = storeOnATurnedServer(database, attempts: updating)
        guard case .updated(let updated) = try updater.update(userID: "bob", id: task.id, update: TaskUpdate(.merge(changes)),
                                                              now: 1_795_000_000_001) else {
            Issue.record("not updated")
            return
        }
        #expect(updated.title == Array("renamed".utf8) && updating.withLock { $0 } == 2)

        let creating = Locked(0)
        let (creator, _) = storeOnATurnedServer(database, attempts: creating)
        let key = IdempotencyKey(key: "k-switch", fingerprint: "body")
        guard case .created = try creator.create(userID: "bob", state: TaskState(title: "keyed"), now: 1_795_000_000_002,
                                                 idempotency: key, render: { _ in Array("{}".utf8) }) else {
            Issue.record("keyed create not made")
            return
        }
        #expect(creating.withLock { $0 } == 2)
    }

    @Test func aReconnectionToAnotherServerCountsAsAFailoverOncePerProcess() {
        let events = ConnectionEvents()
        events.connected(to: "db1:5432", again: false)
        events.connected(to: "db1:5432", again: false)  // another thread's first connection
        #expect(events.reconnections == 0 && events.failovers == 0)
        events.connected(to: "db1:5432", again: true)  // the same server, back after a restart
        #expect(events.reconnections == 1 && events.failovers == 0)
        events.connected(to: "db2:5432", again: true)  // the standby took over
        events.connected(to: "db2:5432", again: true)  // the other threads follow
        #expect(events.reconnections == 3 && events.failovers == 1)
    }

    @Test func aConnectionNamesTheServerItReached() throws {
        let database = try FreshDatabase(.postgresql)
        let connection = try PostgresConnection(connectionString: database.location)
        let port = try connection.query("SELECT current_setting('port')").text(row: 0, column: 0) ?? "?"
        #expect(connection.serverAddress.hasSuffix(":" + port))
        #expect(connection.serverAddress.count > port.count + 1)
    }
}

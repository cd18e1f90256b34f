import Clocks
import Locks
import PostgreSQL
@testable import PostgresStorage
import TaskModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How PostgreSQL's waiters are woken (#36): a worker's write transaction sends no notification
/// (so commits share WAL flushes); the process's sender tells every host after the commit, many
/// users per notification; any other writer's commit still notifies through the trigger.
@Suite(.enabled(if: BackendKind.postgresAdminURI != nil, "needs TODO_TEST_POSTGRES"))
struct PostgresWakeTests {
    /// Every notification on the channel `listener` (LISTENing) hears within `seconds`.
    private func notifications(on listener: PostgresConnection, for seconds: Double) -> [[UInt8]] {
        var heard: [[UInt8]] = []
        let end = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        while MonotonicClock.nanoseconds() < end {
            heard += (listener.awaitNotifications(timeoutMilliseconds: 50) ?? []).filter { $0.channel == PostgresChangeFeed.channel }
                .map(\.payload)
        }
        return heard
    }

    private func listening(to database: FreshDatabase) throws -> PostgresConnection {
        let listener = try PostgresConnection(connectionString: database.location)
        try listener.execute("LISTEN \(PostgresChangeFeed.channel)")
        return listener
    }

    @Test func aWorkersWriteNotifiesNothingInItsTransactionAndItsProcessTellsEveryHostAfterTheCommit() throws {
        let database = try FreshDatabase(.postgresql)
        let listener = try listening(to: database)
        let store = try database.store()
        let users = (0..<20).map { "wake-\($0)" }
        for user in users { _ = try store.create(userID: user, state: TaskState(title: "t"), now: 1_795_000_000_000) }
        let payloads = notifications(on: listener, for: 1.0)
        // None is the trigger's (a bare key, sent from the write's own transaction) ...
        #expect(payloads.allSatisfy { ChangeKey(hex: $0) == nil })
        // ... and together they name every user written, each under one origin: this process's.
        let keys = payloads.flatMap { PostgresChangeFeed.keys(in: $0, unlessSentBy: "not-this-one-000") }
        #expect(Set(keys) == Set(users.map { ChangeKey(userID: $0) }))
        #expect(Set(payloads.map { $0.prefix(16) }).count == 1)
    }

    @Test func anotherWritersCommitStillNotifiesThroughTheTrigger() throws {
        let database = try FreshDatabase(.postgresql)
        let store = try database.store()
        _ = try store.create(userID: "psql-user", state: TaskState(title: "t"), now: 1_795_000_000_000)
        usleep(300_000)  // the store's own wake-up has gone out
        let listener = try listening(to: database)
        let psql = try PostgresConnection(connectionString: database.location)
        // As psql or an older build would: no setting of the workers' own.
        try psql.execute("BEGIN; SELECT set_config('todo.user_id', 'psql-user', true); "
                         + "UPDATE task_sync SET last_change = last_change + 1 WHERE user_id = 'psql-user'; COMMIT")
        let payloads = notifications(on: listener, for: 0.5)
        #expect(payloads == [Array(ChangeKey(userID: "psql-user").hex.utf8)])
    }

    @Test func manyChangesAtOnceGoOutInFewNotifications() throws {
        let database = try FreshDatabase(.postgresql)
        let listener = try listening(to: database)
        let feed = try database.backend.makeChangeFeed()
        let keys = (0..<2_000).map { ChangeKey(userID: "many-\($0)") }
        for key in keys { feed.publish(key) }
        let payloads = notifications(on: listener, for: 1.0)
        #expect(Set(payloads.flatMap { PostgresChangeFeed.keys(in: $0, unlessSentBy: "not-this-one-000") }) == Set(keys))
        // At most 469 keys fit one payload: 2,000 need 5; a notification per change would be 2,000.
        #expect(payloads.count >= 5 && payloads.count <= 100)
        #expect(payloads.allSatisfy { $0.count <= PostgresWakeSender.payloadLimit })
    }

    @Test func changesMadeWhileTheServerCannotBeReachedGoOutOnceItCanBe() throws {
        let database = try FreshDatabase(.postgresql)
        let listener = try listening(to: database)
        let attempts = Locked(0)
        let warnings = Locked<[String]>([])
        let location = database.location
        let sender = PostgresWakeSender(warn: { line in warnings.withLock { $0.append(line) } }) { () throws(PostgresError) in
            let attempt = attempts.withLock { $0 += 1; return $0 }
            if attempt <= 2 { throw PostgresError(message: "refused for the test", connectionLost: true) }
            return try PostgresConnection(connectionString: location)
        }
        let alice = ChangeKey(userID: "alice"), bob = ChangeKey(userID: "bob")
        sender.send(alice)
        usleep(50_000)
        sender.send(bob)
        let payloads = notifications(on: listener, for: 1.5)
        #expect(Set(payloads.flatMap { PostgresChangeFeed.keys(in: $0, unlessSentBy: "not-this-one-000") }) == [alice, bob])
        #expect(attempts.withLock { $0 } == 3)
        #expect(warnings.withLock { $0 }.count == 2)  // that it cannot, once; that it can again
    }

    @Test func everyWorkerTransactionCommitsDurablyOnASessionThatWouldNot() throws {
        let database = try FreshDatabase(.postgresql)
        let connection = try PostgresConnection(connectionString: database.location)
        try connection.execute("SET synchronous_commit = off")  // a pooled session left this way
        let results = try connection.pipeline([
            .init(PostgresSchema.openTransaction, ["alice"]),
            .init("SELECT current_setting('synchronous_commit'), current_setting('\(PostgresSchema.wakeAfterCommit)'), "
                  + "current_setting('todo.export')"),
        ])
        #expect(results[1].text(row: 0, column: 0) == "on")
        #expect(results[1].text(row: 0, column: 1) == "on")
        #expect(results[1].text(row: 0, column: 2) == "off")
        // For that transaction alone: the session is as it was.
        let after = try connection.query("SELECT current_setting('synchronous_commit'), current_setting('todo.user_id', true)")
        #expect(after.text(row: 0, column: 0) == "off")
        #expect(after.text(row: 0, column: 1) == "")
    }
}

@Suite struct PostgresWakePayloadTests {
    private let own = "00000000000000aa"

    @Test func aPayloadNamesOneKeyOrAnOriginsKeysAndTheProcessSkipsItsOwn() {
        let alice = ChangeKey(userID: "alice"), bob = ChangeKey(userID: "bob")
        #expect(PostgresChangeFeed.keys(in: Array(alice.hex.utf8), unlessSentBy: own) == [alice])
        let other = Array("00000000000000bb:\(alice.hex),\(bob.hex)".utf8)
        #expect(PostgresChangeFeed.keys(in: other, unlessSentBy: own) == [alice, bob])
        #expect(PostgresChangeFeed.keys(in: Array("\(own):\(alice.hex)".utf8), unlessSentBy: own).isEmpty)
        for junk in ["", "xyz", "0000:\(alice.hex)", "00000000000000bb:nothex", "\(alice.hex)0"] {
            #expect(PostgresChangeFeed.keys(in: Array(junk.utf8), unlessSentBy: own).isEmpty, "\(junk)")
        }
    }

    @Test func keysAreSplitIntoPayloadsPostgreSQLTakes() {
        let keys = (0..<1_000).map { ChangeKey(userID: "k\($0)").value }
        let steps = PostgresWakeSender.steps(notifying: keys, origin: own)
        let payloads = steps.dropFirst().map { $0.parameters[1] ?? "" }
        #expect(payloads.count == 3)
        #expect(payloads.allSatisfy { $0.utf8.count <= PostgresWakeSender.payloadLimit && $0.hasPrefix(own + ":") })
        let sent = payloads.flatMap { PostgresChangeFeed.keys(in: Array($0.utf8), unlessSentBy: "00000000000000cc") }
        #expect(sent.map(\.value) == keys)
        #expect(ChangeKey(value: 0xab).hex == "00000000000000ab")
    }
}

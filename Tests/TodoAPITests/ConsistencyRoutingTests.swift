import TaskModel
import Testing
@testable import TodoAPI

/// A store that gives consistency tokens, as PostgreSQL's does (its writes name the user's
/// change; memory's name nothing), over memory; it records what each read had to see.
private final class TokenGivingStore: TaskStore {
    let inner: any TaskStore
    var reads: [ReadConsistency] = []
    private var writes: Int64 = 0
    private(set) var changeAfterLastWrite: Int64?

    init(_ inner: any TaskStore) { self.inner = inner }

    /// Names the write's change when it went through (as PostgreSQL's store counts them).
    private func named<Outcome>(_ outcome: Outcome, _ wentThrough: Bool) -> Outcome {
        if wentThrough { writes += 1 }
        changeAfterLastWrite = wentThrough ? writes : nil
        return outcome
    }

    func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome {
        let outcome = try inner.create(userID: userID, state: state, now: now, idempotency: idempotency, render: render)
        return named(outcome, outcome.changedTasks)
    }
    func find<Result>(userID: String, id: Int64, consistency: ReadConsistency, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        reads.append(consistency)
        return try inner.find(userID: userID, id: id, consistency: consistency, render: render)
    }
    func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        try inner.find(userID: userID, key: key, render: render)
    }
    func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation {
        try inner.createAppPassword(userID: userID, name: name, digest: digest, now: now)
    }
    func appPasswords(userID: String) throws(StorageError) -> [AppPassword] { try inner.appPasswords(userID: userID) }
    func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool { try inner.deleteAppPassword(userID: userID, id: id) }
    func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest] { try inner.appPasswordDigests(userID: userID) }
    func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError) {
        try inner.recordAppPasswordUse(userID: userID, id: id, now: now)
    }
    func list(userID: String, query: TaskListQuery, consistency: ReadConsistency, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        reads.append(consistency)
        return try inner.list(userID: userID, query: query, consistency: consistency, row: row)
    }
    func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome {
        let outcome = try inner.update(userID: userID, id: id, update: update, now: now)
        return named(outcome, outcome.changedTasks)
    }
    func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome {
        let outcome = try inner.delete(userID: userID, id: id, deletion: deletion, now: now)
        return named(outcome, outcome.changedTasks)
    }
    func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency: ReadConsistency) throws(StorageError) -> SyncPage {
        reads.append(consistency)
        return try inner.syncPage(userID: userID, since: since, limit: limit, consistency: consistency)
    }
    func syncCursorKey() throws(StorageError) -> [UInt8] { try inner.syncCursorKey() }
    func checkHealth() throws(StorageError) { try inner.checkHealth() }
}

/// Writes answer with `X-Consistency-Token`; reads that send it back say what they must see, and
/// a read that may wait for a change always reads the latest (#37, item 3).
@Suite struct ConsistencyRoutingTests {
    private func harness(changeFeed: (any ChangeFeed)? = nil) throws -> (Harness, TokenGivingStore) {
        var spy: TokenGivingStore?
        let harness = try Harness(changeFeed: changeFeed) { inner in
            let store = TokenGivingStore(inner)
            spy = store
            return store
        }
        return (harness, try #require(spy))
    }

    @Test func everyWriteThatGoesThroughAnswersWithAToken() throws {
        let (h, _) = try harness()
        let created = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#)
        #expect(created.status == 201 && created.header("X-Consistency-Token") == "ct1.1")
        let patched = try h.send("PATCH", "/api/alice/tasks/1", as: "alice", json: #"{"title":"b"}"#)
        #expect(patched.status == 200 && patched.header("X-Consistency-Token") == "ct1.2")
        let completed = try h.send("PATCH", "/api/alice/tasks/1/complete", as: "alice")
        #expect(completed.status == 200 && completed.header("X-Consistency-Token") == "ct1.3")
        let deleted = try h.send("DELETE", "/api/alice/tasks/1", as: "alice")
        #expect(deleted.status == 204 && deleted.header("X-Consistency-Token") == "ct1.4")
        // A write that did not go through names no write.
        let missing = try h.send("DELETE", "/api/alice/tasks/1", as: "alice")
        #expect(missing.status == 404 && missing.header("X-Consistency-Token") == nil)
        let invalid = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":""}"#)
        #expect(invalid.status == 422 || invalid.status == 400)
        #expect(invalid.header("X-Consistency-Token") == nil)
    }

    @Test func aStoreWhoseReadsAllSeeEveryWriteGivesNoToken() throws {
        let h = try Harness()
        let created = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#)
        #expect(created.status == 201 && created.header("X-Consistency-Token") == nil)
    }

    @Test func aReadSendingATokenBackNeedsItsChangeAndOneWithoutNeedsTheLatest() throws {
        let (h, spy) = try harness()
        let id = try h.create("alice", #"{"title":"a"}"#)
        _ = try h.send("GET", "/api/alice/tasks", as: "alice", consistencyToken: "ct1.1")
        _ = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice", consistencyToken: "ct1.1, ct1.9")
        _ = try h.send("HEAD", "/api/alice/tasks", as: "alice", consistencyToken: "ct1.1")
        _ = try h.send("GET", "/api/alice/tasks", as: "alice")
        _ = try h.send("GET", "/api/alice/tasks", as: "alice", consistencyToken: "forged")
        _ = try h.send("GET", "/api/alice/tasks/changes", as: "alice", consistencyToken: "ct1.1")
        #expect(spy.reads == [.atLeast(1), .atLeast(9), .atLeast(1), .latest, .latest, .atLeast(1)])
    }

    @Test func aSyncRequestThatMayWaitReadsTheLatest() throws {
        let (h, spy) = try harness(changeFeed: LocalChangeFeed())
        _ = try h.create("alice", #"{"title":"a"}"#)
        let first = try h.send("GET", "/api/alice/tasks/changes", as: "alice", consistencyToken: "ct1.1")
        let cursor = try #require(first.object?["cursor"]?.stringValue)
        _ = try h.send("GET", "/api/alice/tasks/changes?since=\(cursor)&wait=5", as: "alice", consistencyToken: "ct1.1")
        _ = try h.send("GET", "/api/alice/tasks/changes?since=\(cursor)", as: "alice", consistencyToken: "ct1.1")
        #expect(spy.reads == [.atLeast(1), .latest, .atLeast(1)])
    }
}

import Clocks
import JWT
import TaskModel
import Testing
@testable import TodoAPI

/// A store whose database cannot be reached: every call fails with `failure`.
private final class UnreachableStore: TaskStore {
    let failure: StorageError
    init(_ failure: StorageError) { self.failure = failure }
    func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome { throw failure }
    func find<Result>(userID: String, id: Int64, consistency _: ReadConsistency, render: (TaskRow) -> Result) throws(StorageError) -> Result? { throw failure }
    func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result? { throw failure }
    func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation { throw failure }
    func appPasswords(userID: String) throws(StorageError) -> [AppPassword] { throw failure }
    func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool { throw failure }
    func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest] { throw failure }
    func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError) { throw failure }
    func list(userID: String, query: TaskListQuery, consistency _: ReadConsistency, row: (TaskRow) -> Void) throws(StorageError) -> Int64 { throw failure }
    func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome { throw failure }
    func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome { throw failure }
    func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency _: ReadConsistency) throws(StorageError) -> SyncPage { throw failure }
    func syncCursorKey() throws(StorageError) -> [UInt8] { throw failure }
    func checkHealth() throws(StorageError) { throw failure }
}

/// A request the database cannot take with nothing of it done (no server takes writes: a
/// failover under way) waits for it (`.whenAvailable`), when the server lets it (#37, item 2);
/// one whose effect is unknown, or any other failure, is answered at once.
@Suite struct DatabaseWaitTests {
    private func reply(to method: String, _ target: String, failing failure: StorageError, waits: Bool,
                       key: String? = nil) throws -> Reply {
        let application = TodoApplication(authenticator: try Authenticator(configuration: JWTConfiguration(secret: testSecret)),
                                          store: UnreachableStore(failure), waitsForTheDatabase: waits, log: { _ in })
        let token = try JWTSigner(secret: testSecret).sign(subject: "alice", issuedAt: Int64(WallClock.seconds()), lifetime: 600)
        let body = method == "POST" ? Array(#"{"title":"t"}"#.utf8) : []
        var request = HTTPRequest(method: HTTPMethod(rawValue: method), target: target, authorization: "Bearer " + token,
                                  contentType: body.isEmpty ? nil : "application/json", body: body, bodyExceededLimit: false)
        request.idempotencyKey = key
        return application.respond(to: request)
    }

    private func waits(_ reply: Reply) -> Bool {
        if case .whenAvailable = reply.ending { return true }
        return false
    }

    @Test func aWriteOrReadWithNothingDoneWaitsForTheDatabaseAndCarriesItsAnswer() throws {
        let noPrimary = StorageError(.unavailable, "no server takes writes", nothingDone: true)
        for (method, target) in [("POST", "/api/alice/tasks"), ("GET", "/api/alice/tasks"), ("PATCH", "/api/alice/tasks/1/complete")] {
            let reply = try reply(to: method, target, failing: noPrimary, waits: true)
            #expect(waits(reply), "\(method) \(target)")
            // What it answers if the database never comes back: 503 with Retry-After.
            #expect(reply.response.status == 503 && reply.response.headers.contains { $0.name == "Retry-After" })
        }
    }

    @Test func anUnknownOutcomeWaitsOnlyForAKeyedCreate() throws {
        let unknown = StorageError(.unavailable, "connection lost during the commit")
        #expect(!waits(try reply(to: "POST", "/api/alice/tasks", failing: unknown, waits: true)))
        #expect(!waits(try reply(to: "PATCH", "/api/alice/tasks/1/complete", failing: unknown, waits: true)))
        #expect(waits(try reply(to: "POST", "/api/alice/tasks", failing: unknown, waits: true, key: "k-1")))
    }

    @Test func anotherFailureOrAServerThatDoesNotWaitIsAnsweredAtOnce() throws {
        let busy = StorageError(.busy, "locked", nothingDone: true)
        #expect(!waits(try reply(to: "POST", "/api/alice/tasks", failing: busy, waits: true)))
        let noPrimary = StorageError(.unavailable, "no server takes writes", nothingDone: true)
        let atOnce = try reply(to: "POST", "/api/alice/tasks", failing: noPrimary, waits: false)
        #expect(!waits(atOnce) && atOnce.response.status == 503)
    }
}


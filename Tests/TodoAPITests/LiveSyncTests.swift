import JSON
import TaskModel
import Testing
@testable import TodoAPI

/// Contract §13 in-process: when a sync request asks to wait, and what it waits for.
@Suite struct LiveSyncTests {
    /// A feed whose marker read can run something first (a commit racing the read).
    final class ProbeFeed: ChangeFeed, @unchecked Sendable {
        let inner = LocalChangeFeed()
        var beforeRead: (() -> Void)?
        func marker(of key: ChangeKey) -> UInt64 {
            beforeRead?()
            return inner.marker(of: key)
        }
        func publish(_ key: ChangeKey) { inner.publish(key) }
        func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 { inner.awaitChange(after: seen, timeoutNanoseconds: timeoutNanoseconds) }
    }

    func cursor(_ harness: Harness, _ user: String) throws -> String {
        let reply = try harness.send("GET", "/api/\(user)/tasks/changes", as: user)
        guard case .string(let cursor)? = reply.object?["cursor"] else { throw APIError.invalidCursor }
        return cursor
    }

    @Test func nothingAfterTheCursorAsksToWaitWithTheMarkerReadBefore() throws {
        let feed = ProbeFeed()
        let harness = try Harness(changeFeed: feed)
        try harness.create("alice", #"{"title":"a"}"#)
        let since = try cursor(harness, "alice")
        feed.publish(ChangeKey(userID: "alice"))
        let reply = try harness.send("GET", "/api/alice/tasks/changes?since=\(since)&wait=25", as: "alice")
        #expect(reply.status == 200)
        #expect(reply.object?["tasks"] == .array([]) && reply.object?["deleted"] == .array([]))
        #expect(harness.lastReply?.changeWait == ChangeWait(key: ChangeKey(userID: "alice"), marker: feed.marker(of: ChangeKey(userID: "alice")), seconds: 25))
    }

    @Test func aChangeCommittedJustAfterTheMarkerReadIsInThePageNotWaitedFor() throws {
        let feed = ProbeFeed()
        let harness = try Harness(changeFeed: feed)
        let since = try cursor(harness, "alice")
        feed.beforeRead = { [store = harness.store] in
            _ = try? store.create(userID: "alice", state: TaskState(title: "raced"), now: 1_795_000_000_000)
        }
        let reply = try harness.send("GET", "/api/alice/tasks/changes?since=\(since)&wait=25", as: "alice")
        feed.beforeRead = nil
        #expect(reply.status == 200)
        guard case .array(let tasks)? = reply.object?["tasks"] else { throw APIError.invalidCursor }
        #expect(tasks.count == 1)
        #expect(harness.lastReply?.changeWait == nil)
    }

    @Test func noWaitWhenSomethingChangedWithoutCursorForHeadForZeroOrWithoutAFeed() throws {
        let harness = try Harness(changeFeed: LocalChangeFeed())
        let since = try cursor(harness, "alice")
        try harness.create("alice", #"{"title":"new"}"#)
        for (method, query) in [("GET", "since=\(since)&wait=5"), ("GET", "wait=5"), ("HEAD", "since=\(try cursor(harness, "alice"))&wait=5"),
                                ("GET", "since=\(try cursor(harness, "alice"))&wait=0")] {
            let reply = try harness.send(method, "/api/alice/tasks/changes?\(query)", as: "alice")
            #expect(reply.status == 200)
            #expect(harness.lastReply?.changeWait == nil, "\(method) \(query)")
        }
        let withoutFeed = try Harness()
        let quiet = try cursor(withoutFeed, "bob")
        #expect(try withoutFeed.send("GET", "/api/bob/tasks/changes?since=\(quiet)&wait=5", as: "bob").status == 200)
        #expect(withoutFeed.lastReply?.changeWait == nil)
    }

    @Test(arguments: ["-1", "61", "x", "1.5", "", "+1", "1e1", "0x10"])
    func aBadWaitIsInvalidQueryWithOrWithoutCursorAndForHead(_ value: String) throws {
        let harness = try Harness(changeFeed: LocalChangeFeed())
        let since = try cursor(harness, "alice")
        for (method, query) in [("GET", "since=\(since)&wait=\(value)"), ("GET", "wait=\(value)"), ("HEAD", "wait=\(value)")] {
            let reply = try harness.send(method, "/api/alice/tasks/changes?\(query)", as: "alice")
            #expect(reply.status == 400)
            if method == "GET" { #expect(reply.object?["code"] == .string("invalid_query")) }
        }
        #expect(try harness.send("GET", "/api/alice/tasks/changes?wait=1&wait=1", as: "alice").status == 400)
    }

    @Test func aRecheckAnswersAsTheUserAfterTheTokenExpired() throws {
        let feed = LocalChangeFeed()
        let harness = try Harness(changeFeed: feed)
        let since = try cursor(harness, "alice")
        let request = HTTPRequest(method: .get, target: "/api/alice/tasks/changes?since=\(since)&wait=60", authorization: nil,
                                  contentType: nil, body: [], bodyExceededLimit: false)
        harness.clock.advance(by: 3_600_000)
        try harness.create("alice", #"{"title":"after an hour"}"#)
        let reply = harness.application.recheck(request, user: AuthenticatedUser(id: "alice"))
        #expect(reply.response.status == 200)
        #expect(reply.changeWait == nil)
        #expect(reply.routeTemplate == "/api/{user_id}/tasks/changes")
        let again = harness.application.recheck(
            HTTPRequest(method: .get, target: "/api/alice/tasks/changes?since=\(try cursor(harness, "alice"))&wait=60", authorization: nil,
                        contentType: nil, body: [], bodyExceededLimit: false), user: AuthenticatedUser(id: "alice"))
        #expect(again.changeWait?.seconds == 60)
    }
}

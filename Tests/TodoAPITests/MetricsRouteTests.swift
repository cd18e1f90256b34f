import APITables
import JWT
import Testing
import TaskModel
@testable import TodoAPI

/// `/metrics` and what each reply tells the metrics, in-process.
@Suite("Metrics route and reply facts")
struct MetricsRouteTests {
    static let exposition: @Sendable () -> (contentType: String, body: [UInt8]) = {
        ("text/plain; version=0.0.4; charset=utf-8", Array("todo_up 1\n".utf8))
    }

    @Test func metricsAreServedAsPrometheusTextWithoutAToken() throws {
        let h = try Harness(metrics: Self.exposition)
        let reply = try h.send("GET", "/metrics")
        #expect(reply.status == 200)
        #expect(reply.text == "todo_up 1\n")
        #expect(reply.response.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(String(decoding: reply.response.cgiHeader(), as: UTF8.self).contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(h.lastReply?.routeTemplate == "/metrics")
        let post = try h.send("POST", "/metrics")
        #expect(post.isError("method_not_allowed") && post.header("Allow") == "GET, HEAD")
    }

    @Test func withoutMetricsThereIsNoSuchRoute() throws {
        let h = try Harness()
        #expect(try h.send("GET", "/metrics").isError("route_not_found"))
        #expect(h.lastReply?.routeTemplate == nil)
    }

    @Test func repliesNameTheAuthFailureReason() throws {
        let h = try Harness()
        _ = try h.send("GET", "/api/alice/tasks")
        #expect(h.lastReply?.authFailureReason == .missingToken)
        _ = try h.send("GET", "/api/alice/tasks", authorization: "Bearer not-a-jwt")
        #expect(h.lastReply?.authFailureReason == .malformed)
        _ = try h.send("GET", "/api/alice/tasks", authorization: "Bearer " + (try h.token("alice", lifetime: -600)))
        #expect(h.lastReply?.authFailureReason == .expired)
        _ = try h.send("GET", "/api/alice/tasks", as: "alice")
        #expect(h.lastReply?.authFailureReason == nil)
        #expect(h.lastReply?.authenticatedUser == "alice")
    }

    @Test func onlySuccessfulWritesCountAsCommitted() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"x"}"#)
        #expect(h.lastReply?.committedWrite == true)
        _ = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice")
        #expect(h.lastReply?.committedWrite == false)
        _ = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: #"{"title":""}"#)
        #expect(h.lastReply?.committedWrite == false)
        _ = try h.send("DELETE", "/api/alice/tasks/999", as: "alice")
        #expect(h.lastReply?.committedWrite == false)
        _ = try h.send("DELETE", "/api/alice/tasks/\(id)", as: "alice")
        #expect(h.lastReply?.committedChange == .deleted)
    }

    /// Hardening round 3, item 9: whether a write happened comes from the store's outcome. A
    /// replayed create and a merge that changes nothing answer 2xx but changed nothing, so they
    /// are not counted as writes nor announced to live sync.
    @Test func aReplayOrANoOpIsNotACommittedWrite() throws {
        let h = try Harness()
        let body = #"{"title":"keyed"}"#
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", json: body, idempotencyKey: "k-1").status == 201)
        #expect(h.lastReply?.committedChange == .created)
        let replay = try h.send("POST", "/api/alice/tasks", as: "alice", json: body, idempotencyKey: "k-1")
        #expect(replay.status == 201 && replay.header("Idempotent-Replayed") == "true")
        #expect(h.lastReply?.committedChange == nil)
        #expect(h.lastReply?.committedWrite == false)
        let id = try h.create("alice", #"{"title":"same","priority":"high"}"#)
        let noOp = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"title":"same","priority":"high"}"#,
                              contentType: "application/merge-patch+json")
        #expect(noOp.status == 200)
        #expect(h.lastReply?.committedChange == nil)
        _ = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"priority":"low"}"#,
                       contentType: "application/merge-patch+json")
        #expect(h.lastReply?.committedChange == .updated)
        _ = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice")
        #expect(h.lastReply?.committedChange == .updated)
    }

    /// The metrics' labels are one table (APITables): each token rejection has its own reason
    /// (only an internal failure is "other"), and each storage failure kind its own label of the
    /// same name. Before, the labels were spelled again in four places, and a spelling that
    /// drifted fell silently into the catch-all.
    @Test func everyRejectionAndStorageFailureHasItsOwnLabel() {
        let kinds: [JWTError.Kind] = [.malformed, .unsupportedAlgorithm, .badSignature, .unknownKey, .expired, .notYetValid,
                                      .invalidClaim, .issuerMismatch, .audienceMismatch, .internalFailure]
        let reasons = kinds.map(Authenticator.label)
        #expect(Set(reasons).count == kinds.count)
        #expect(reasons.filter { $0 == .other } == [Authenticator.label(.internalFailure)])
        // Besides the token's: none at all, and Basic credentials on /dav/ that are no app password.
        #expect(Set(reasons + [.missingToken, .appPassword]) == Set(AuthFailureReason.allCases))
        let storageKinds: [StorageError.Kind] = [.unavailable, .busy, .conflict, .incompatible, .internal]
        #expect(storageKinds.map { StorageFailureKind($0).rawValue } == storageKinds.map { "\($0)" })
        #expect(Set(storageKinds.map(StorageFailureKind.init)) == Set(StorageFailureKind.allCases))
    }
}

import Testing
import TaskModel
@testable import TodoAPI

@Suite("Router")
struct RouterTests {
    func route(_ path: String) -> Route? { Router.route(Array(path.utf8)) }

    @Test func matchesEveryRoute() {
        #expect(route("/health") == .health)
        #expect(route("/metrics") == .metrics)
        #expect(route("/api/alice/tasks") == .tasks(user: Array("alice".utf8)))
        #expect(route("/api/alice/tasks/7") == .task(user: Array("alice".utf8), id: Array("7".utf8)))
        #expect(route("/api/alice/tasks/7/complete") == .completion(user: Array("alice".utf8), id: Array("7".utf8)))
    }

    @Test func percentDecodesSegmentsAndKeepsEncodedSlashInside() {
        #expect(route("/api/a%2Fb/tasks") == .tasks(user: Array("a/b".utf8)))
        #expect(route("/api/%C3%A9%00x/tasks") == .tasks(user: [0xC3, 0xA9, 0x00, UInt8(ascii: "x")]))
        #expect(route("/api/alice/tasks/%37") == .task(user: Array("alice".utf8), id: Array("7".utf8)))
    }

    @Test(arguments: ["/", "", "/health/", "/healthz", "/api", "/api/", "/api/alice", "/api/alice/", "/api/alice/tasks/",
                      "/api//tasks", "/api/alice/task", "/api/alice/tasks//complete", "/api/alice/tasks/7/",
                      "/api/alice/tasks/7/complete/", "/api/alice/tasks/7/done", "/api/alice/tasks/7/complete/x",
                      "/api/%zz/tasks", "/api/a%2/tasks", "/API/alice/tasks", "api/alice/tasks", "/docs", "/openapi.json",
                      "/api/alice/tasks/%"])
    func rejectsEverythingElse(_ path: String) {
        #expect(route(path) == nil)
    }

    @Test func ownerAndResourceAreThoseOfAPIRoutesOnly() {
        #expect(Route.health.taskResource == nil)
        #expect(route("/api/a%2Fb/tasks")?.taskResource?.owner == Array("a/b".utf8))
        #expect(route("/api/a%2Fb/tasks")?.taskResource?.resource == .collection)
        #expect(route("/api/bob/tasks/7")?.taskResource?.owner == Array("bob".utf8))
        #expect(route("/api/bob/tasks/7")?.taskResource?.resource == .task(id: Array("7".utf8)))
        #expect(route("/api/bob/tasks/7/complete")?.taskResource?.owner == Array("bob".utf8))
        #expect(route("/api/bob/tasks/7/complete")?.taskResource?.resource == .completion(id: Array("7".utf8)))
    }

    @Test func allowedMethodsAreComplete() {
        #expect(Route.health.allowedMethods == ["GET", "HEAD"])
        #expect(Route.tasks(user: []).allowedMethods == ["GET", "HEAD", "POST"])
        #expect(Route.task(user: [], id: []).allowedMethods == ["GET", "HEAD", "PUT", "PATCH", "DELETE"])
        #expect(Route.completion(user: [], id: []).allowedMethods == ["PATCH"])
        #expect(Route.changes(user: []).allowedMethods == ["GET", "HEAD"])
    }
}

import Testing
@testable import TodoAPI

@Suite("Router")
struct RouterTests {
    func route(_ path: String) -> Route? { Router.route(Array(path.utf8)) }

    @Test func matchesEveryRoute() {
        #expect(route("/health") == .health)
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

    @Test func ownerIsThePathUserOfAPIRoutesOnly() {
        #expect(Route.health.owner == nil)
        #expect(route("/api/a%2Fb/tasks")?.owner == Array("a/b".utf8))
        #expect(route("/api/bob/tasks/7")?.owner == Array("bob".utf8))
        #expect(route("/api/bob/tasks/7/complete")?.owner == Array("bob".utf8))
    }

    @Test func allowedMethodsAreComplete() {
        #expect(Route.health.allowedMethods == ["GET", "HEAD"])
        #expect(Route.tasks(user: []).allowedMethods == ["GET", "HEAD", "POST"])
        #expect(Route.task(user: [], id: []).allowedMethods == ["GET", "HEAD", "PUT", "DELETE"])
        #expect(Route.completion(user: [], id: []).allowedMethods == ["PATCH"])
    }
}

@Suite("Task ids")
struct TaskIDTests {
    @Test(arguments: [("1", 1), ("7", 7), ("42", 42), ("9223372036854775807", Int64.max)] as [(String, Int64)])
    func acceptsCanonicalIds(_ text: String, _ value: Int64) {
        #expect(TaskID.parse(Array(text.utf8)) == value)
    }

    @Test(arguments: ["", "0", "00", "007", "+7", "-1", "7a", "1.0", " 7", "7 ", "1e3", "9223372036854775808",
                      "99999999999999999999", "0x10", "٣"])
    func rejectsEverythingElse(_ text: String) {
        #expect(TaskID.parse(Array(text.utf8)) == nil)
    }
}

@Suite("List query")
struct TaskListQueryTests {
    func parse(_ query: String) throws(APIError) -> TaskListQuery {
        try TaskListQuery(rawQuery: Array(query.utf8))
    }

    @Test func defaults() throws {
        let query = try parse("")
        #expect(query == TaskListQuery())
        #expect(query.status == .all && query.sort == .created && query.order == .asc)
        #expect(query.limit == 100 && query.offset == 0)
    }

    @Test func parsesEveryOption() throws {
        let query = try parse("status=completed&sort=title&order=desc&limit=1000&offset=5")
        #expect(query.status == .completed && query.sort == .title && query.order == .desc)
        #expect(query.limit == 1000 && query.offset == 5)
        #expect(try parse("limit=1").limit == 1)
        #expect(try parse("status=%70ending").status == .pending)
    }

    @Test(arguments: ["limit=0", "limit=1001", "limit=abc", "limit=1.5", "limit=", "limit", "limit=-1", "limit=+5",
                      "limit=99999999999999999999", "offset=-1", "offset=x", "status=done", "sort=name", "order=up",
                      "order=ASC", "limit=5&limit=6", "foo=bar", "status=all&&", "%zz=1", "status=%zz", "&"])
    func rejectsBadParameters(_ query: String) {
        #expect(throws: APIError.self) { try parse(query) }
        do {
            _ = try parse(query)
        } catch {
            #expect(error.status == 400)
            #expect(error.code == "invalid_query")
        }
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test(arguments: [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_123, "2000-02-29T00:00:00.123Z"),
        (1_795_341_625_279, "2026-11-22T10:00:25.279Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ] as [(Int64, String)])
    func formatsRFC3339Milliseconds(_ millis: Int64, _ expected: String) {
        #expect(Timestamp.format(milliseconds: millis) == expected)
    }
}

@Suite("Percent encoding")
struct PercentEncodingTests {
    @Test func encodesEverythingOutsideUnreserved() {
        #expect(PercentDecoding.encodePathSegment("a/b c\r\n%é~._-".utf8) == "a%2Fb%20c%0D%0A%25%C3%A9~._-")
    }

    @Test func decodesStrictly() {
        #expect(PercentDecoding.decode("a%2fb+c".utf8) == Array("a/b+c".utf8))
        #expect(PercentDecoding.decode("a+c".utf8, plusAsSpace: true) == Array("a c".utf8))
        #expect(PercentDecoding.decode("%".utf8) == nil)
        #expect(PercentDecoding.decode("%4".utf8) == nil)
        #expect(PercentDecoding.decode("%G0".utf8) == nil)
    }
}

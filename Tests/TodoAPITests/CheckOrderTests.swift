import JWT
import Testing
import TaskModel
@testable import TodoAPI

@Suite("Tasks API: routing errors and check order")
struct CheckOrderTests {
    @Test func unknownRouteIs404BeforeAuthentication() throws {
        let h = try Harness()
        for path in ["/", "/api/alice/tasks/", "/api/alice", "/docs", "/openapi.json", "/api/alice/tasks/1/complete/"] {
            #expect(try h.send("GET", path).isError("route_not_found"), "\(path)")
        }
    }

    @Test func wrongMethodIs405WithAllowBeforeAuthentication() throws {
        let h = try Harness()
        let cases = [("DELETE", "/api/alice/tasks", "GET, HEAD, POST"), ("POST", "/api/alice/tasks/1", "GET, HEAD, PUT, PATCH, DELETE"),
                     ("GET", "/api/alice/tasks/1/complete", "PATCH"), ("POST", "/health", "GET, HEAD"),
                     ("PUT", "/api/alice/tasks/changes", "GET, HEAD")]
        for (method, path, allow) in cases {
            let reply = try h.send(method, path)
            #expect(reply.isError("method_not_allowed"), "\(method) \(path)")
            #expect(reply.header("Allow") == allow)
        }
    }

    @Test func authenticationComesBeforeTheUserCheck() throws {
        let h = try Harness()
        #expect(try h.send("GET", "/api/bob/tasks").status == 401)
    }

    @Test func userCheckComesBeforeInputValidation() throws {
        let h = try Harness()
        #expect(try h.send("POST", "/api/bob/tasks", as: "alice", json: "not json").status == 403)
        #expect(try h.send("GET", "/api/bob/tasks?limit=0", as: "alice").status == 403)
    }

    @Test func inputValidationComesBeforeTaskLookup() throws {
        let h = try Harness()
        #expect(try h.send("PUT", "/api/alice/tasks/999", as: "alice", json: #"{"title":""}"#).isError("validation_error"))
        #expect(try h.send("PATCH", "/api/alice/tasks/999", as: "alice", json: #"{"priority":"x"}"#).isError("validation_error"))
        #expect(try h.send("PUT", "/api/alice/tasks/999", as: "alice", json: "{}").isError("task_not_found"))
        #expect(try h.send("PATCH", "/api/alice/tasks/999/complete", as: "alice", json: #"{"completed":1}"#).isError("validation_error"))
        #expect(try h.send("PUT", "/api/alice/tasks/abc", as: "alice", json: "[]").isError("invalid_json"))
    }

    @Test(arguments: ["0", "007", "+7", "-1", "abc", "9223372036854775808", "1.0"])
    func nonCanonicalIdsAre404(_ id: String) throws {
        let h = try Harness()
        try h.create("alice", #"{"title":"seven"}"#)
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").isError("task_not_found"))
        #expect(try h.send("DELETE", "/api/alice/tasks/\(id)", as: "alice").isError("task_not_found"))
    }

    @Test func unauthenticatedNonCanonicalIdIs401() throws {
        let h = try Harness()
        #expect(try h.send("GET", "/api/alice/tasks/abc").status == 401)
    }
}

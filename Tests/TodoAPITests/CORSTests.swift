import Testing
import TaskModel
@testable import TodoAPI

@Suite("CORS")
struct CORSTests {
    let app = "http://localhost:3000"

    @Test func preflightFromAnAllowedOriginIsAnsweredWithoutAToken() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app]))
        let reply = try h.send("OPTIONS", "/api/alice/tasks", origin: app, preflightMethod: "POST")
        #expect(reply.status == 204)
        #expect(reply.response.body.isEmpty)
        #expect(reply.header("Access-Control-Allow-Origin") == app)
        #expect(reply.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE")
        #expect(reply.header("Access-Control-Allow-Headers")
            == "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID, X-Consistency-Token")
        #expect(reply.header("Access-Control-Max-Age") == "600")
        #expect(reply.header("Vary") == "Origin")
        // The same answer on every path (contract §12): the request that follows gets its 405.
        let task = try h.send("OPTIONS", "/api/alice/tasks/1/complete", origin: app, preflightMethod: "DELETE")
        #expect(task.status == 204 && task.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE")
        let refused = try h.send("DELETE", "/api/alice/tasks/1/complete", as: "alice", origin: app)
        #expect(refused.isError("method_not_allowed") && refused.header("Access-Control-Allow-Origin") == app)
    }

    @Test func preflightFromAnotherOriginGetsNoCORSHeaders() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app]))
        let reply = try h.send("OPTIONS", "/api/alice/tasks", origin: "http://evil.example", preflightMethod: "POST")
        #expect(reply.isError("method_not_allowed"))
        #expect(reply.header("Access-Control-Allow-Origin") == nil)
        #expect(reply.header("Vary") == "Origin")
    }

    /// Before: a preflight on a path without a route was 404, so the page could not read the
    /// JSON 404 that followed (contract §12).
    @Test func preflightOnAPathWithoutARouteIsAnsweredSoThe404IsReadable() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app]))
        for path in ["/api/alice/nope", "/api", "/api/", "/api/alice/tasks/1/complete/x", "/health"] {
            let preflight = try h.send("OPTIONS", path, origin: app, preflightMethod: "GET")
            #expect(preflight.status == 204 && preflight.header("Access-Control-Allow-Origin") == app, "\(path)")
        }
        let missing = try h.send("GET", "/api/alice/nope", origin: app)
        #expect(missing.isError("route_not_found") && missing.header("Access-Control-Allow-Origin") == app)
        // Not an API path: no preflight; and never for another origin, or without CORS.
        #expect(try h.send("OPTIONS", "/metrics", origin: app, preflightMethod: "GET").status != 204)
        #expect(try h.send("OPTIONS", "/api/alice/nope", origin: "http://evil.example", preflightMethod: "GET").status == 404)
        #expect(try Harness().send("OPTIONS", "/api/alice/tasks", origin: app, preflightMethod: "GET").status == 405)
    }

    @Test func actualResponsesCarryTheOriginAndExposedHeaders() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app, "https://app.example.com"]))
        let created = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x"}"#, origin: app)
        #expect(created.status == 201)
        #expect(created.header("Access-Control-Allow-Origin") == app)
        #expect(created.header("Access-Control-Expose-Headers")
            == "Location, X-Total-Count, Retry-After, ETag, Idempotent-Replayed, X-Request-ID, X-Consistency-Token")
        // Errors too, so the browser lets the app read the JSON error.
        let unauthorized = try h.send("GET", "/api/alice/tasks", origin: app)
        #expect(unauthorized.status == 401)
        #expect(unauthorized.header("Access-Control-Allow-Origin") == app)
        let denied = try h.send("GET", "/api/alice/tasks", as: "alice", origin: "https://evil.example")
        #expect(denied.status == 200)
        #expect(denied.header("Access-Control-Allow-Origin") == nil)
        #expect(denied.header("Vary") == "Origin")
    }

    @Test func corsIsOffByDefault() throws {
        let h = try Harness()
        let reply = try h.send("GET", "/api/alice/tasks", as: "alice", origin: app)
        #expect(reply.header("Access-Control-Allow-Origin") == nil)
        #expect(reply.header("Vary") == nil)
        #expect(try h.send("OPTIONS", "/api/alice/tasks", origin: app, preflightMethod: "GET").status == 405)
    }

    @Test func originMatchingIsExact() {
        let policy = CORSPolicy(allowedOrigins: [app])
        #expect(policy.allows(app))
        #expect(!policy.allows("http://localhost:3000/"))
        #expect(!policy.allows("http://LOCALHOST:3000"))
        #expect(!policy.allows("http://localhost:30000"))
        #expect(!policy.allows("null"))
        #expect(!policy.allows(nil))
    }
}

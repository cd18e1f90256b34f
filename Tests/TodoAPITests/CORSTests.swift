import Testing
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
        #expect(reply.header("Access-Control-Allow-Methods") == "GET, HEAD, POST")
        #expect(reply.header("Access-Control-Allow-Headers") == "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key")
        #expect(reply.header("Access-Control-Max-Age") == "600")
        #expect(reply.header("Vary") == "Origin")
        let task = try h.send("OPTIONS", "/api/alice/tasks/1/complete", origin: app, preflightMethod: "PATCH")
        #expect(task.header("Access-Control-Allow-Methods") == "PATCH")
    }

    @Test func preflightFromAnotherOriginGetsNoCORSHeaders() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app]))
        let reply = try h.send("OPTIONS", "/api/alice/tasks", origin: "http://evil.example", preflightMethod: "POST")
        #expect(reply.isError("method_not_allowed"))
        #expect(reply.header("Access-Control-Allow-Origin") == nil)
        #expect(reply.header("Vary") == "Origin")
    }

    @Test func preflightOnAnUnknownRouteIs404() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app]))
        #expect(try h.send("OPTIONS", "/api/alice/nope", origin: app, preflightMethod: "GET").isError("route_not_found"))
    }

    @Test func actualResponsesCarryTheOriginAndExposedHeaders() throws {
        let h = try Harness(cors: CORSPolicy(allowedOrigins: [app, "https://app.example.com"]))
        let created = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x"}"#, origin: app)
        #expect(created.status == 201)
        #expect(created.header("Access-Control-Allow-Origin") == app)
        #expect(created.header("Access-Control-Expose-Headers") == "Location, X-Total-Count, Retry-After, ETag, Idempotent-Replayed")
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

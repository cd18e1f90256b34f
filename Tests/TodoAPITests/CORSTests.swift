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
        #expect(reply.header("Access-Control-Allow-Headers") == "Authorization, Content-Type")
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
        #expect(created.header("Access-Control-Expose-Headers") == "Location, X-Total-Count, Retry-After")
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

@Suite("CGI adapter")
struct CGIAdapterTests {
    @Test func buildsTheRequestFromMetaVariables() {
        var builder = CGIRequestBuilder()
        for (name, value) in [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/a%2Fb/tasks?limit=5&x=%20"),
                              ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "2"),
                              ("HTTP_AUTHORIZATION", "Bearer t"), ("HTTP_ORIGIN", "http://localhost:3000"),
                              ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "PUT"), ("HTTP_COOKIE", "ignored=1")] {
            builder.add(name, value)
        }
        #expect(builder.announcedLength == 2)
        let request = builder.build(body: Array("{}".utf8), bodyExceededLimit: false)
        #expect(request.method == "POST")
        #expect(request.path == Array("/api/a%2Fb/tasks".utf8))
        #expect(request.query == Array("limit=5&x=%20".utf8))
        #expect(request.authorization == Array("Bearer t".utf8))
        #expect(request.contentType == "application/json")
        #expect(request.contentLength == 2)
        #expect(request.origin == "http://localhost:3000")
        #expect(request.accessControlRequestMethod == "PUT")
    }

    @Test(arguments: ["-1", "abc", "1e3", "99999999999999999999", " 5"])
    func rejectsMalformedContentLength(_ value: String) {
        var builder = CGIRequestBuilder()
        builder.add("CONTENT_LENGTH", value)
        #expect(builder.announcedLength == nil)
        #expect(builder.build(body: [], bodyExceededLimit: false).contentLength == nil)
    }

    @Test func emptyValuesMeanAbsent() {
        var builder = CGIRequestBuilder()
        builder.add("CONTENT_TYPE", "")
        builder.add("CONTENT_LENGTH", "")
        let request = builder.build(body: [], bodyExceededLimit: false)
        #expect(request.contentType == nil)
        #expect(request.contentLength == nil)
        #expect(!request.hasBody)
    }

    @Test func cgiHeaderHasStatusLengthAndNoInjectedLines() {
        let response = HTTPResponse(status: 201, headers: [("Location", "/a\r\nSet-Cookie: x=1")], body: Array("{}".utf8))
        let header = String(decoding: response.cgiHeader(), as: UTF8.self)
        #expect(header == "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nLocation: /aSet-Cookie: x=1\r\n\r\n")
        let empty = String(decoding: HTTPResponse(status: 204).cgiHeader(), as: UTF8.self)
        #expect(empty == "Status: 204 No Content\r\nContent-Length: 0\r\n\r\n")
    }
}

@Suite("CORS allow-list")
struct CORSAllowListTests {
    @Test func parsesOriginsLowerCasedAndSkipsEmptyEntries() throws {
        let policy = try CORSPolicy(list: " https://App.Example.com ,,http://localhost:3000,http://[::1]:8080, http://127.0.0.1 ")
        #expect(policy.allowedOrigins == ["https://app.example.com", "http://localhost:3000", "http://[::1]:8080", "http://127.0.0.1"])
        #expect(try CORSPolicy(list: "").allowedOrigins.isEmpty)
    }

    @Test(arguments: ["app.example.com", "https://app.example.com/", "https://app.example.com/path", "*",
                      "https://", "ftp://app.example.com", "https://app.example.com:0", "https://app.example.com:65536",
                      "https://app.example.com:80x", "https://a.com\";", "https://a b.com", "https://a.com$x",
                      "https://[::1", "https://[zz]", "https://[::1]x", "https://user@app.example.com"])
    func refusesWhatIsNotAnOrigin(_ entry: String) {
        #expect(throws: CORSOriginError.self) { try CORSPolicy(list: "https://ok.example.com," + entry) }
    }

    @Test func theNginxMapAllowsExactlyTheListedOrigins() throws {
        let map = try CORSPolicy(list: "https://b.example.com,http://localhost:3000").nginxMap
        #expect(map.contains("map $http_origin $todo_cors_allow_origin {\n    default \"\";\n    \"http://localhost:3000\" \"http://localhost:3000\";\n    \"https://b.example.com\" \"https://b.example.com\";\n}"))
        #expect(map.contains("\"https://b.example.com\" \"Location, X-Total-Count, Retry-After\";"))
        #expect(map.contains("map $http_origin $todo_cors_vary {\n    default \"Origin\";\n}"))
        let none = CORSPolicy().nginxMap
        #expect(none.contains("map $http_origin $todo_cors_vary {\n    default \"\";\n}"))
        #expect(!none.contains("\"http"))
    }
}

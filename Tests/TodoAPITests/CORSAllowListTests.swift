import Testing
import TaskModel
@testable import TodoAPI

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
        #expect(map.contains("\"https://b.example.com\" \"\(CORSPolicy.exposedHeaders)\";"))
        #expect(CORSPolicy.exposedHeaders.hasSuffix(", X-Request-ID, X-Consistency-Token"))
        // nginx's own preflight answer (on /api) is the worker's, from the same constants.
        #expect(map.contains("map \"$request_method|$http_access_control_request_method|$todo_cors_allow_origin\" $todo_cors_preflight {"))
        #expect(map.contains("default \"GET, HEAD, POST, PUT, PATCH, DELETE\";"))
        #expect(map.contains("default \"\(CORSPolicy.allowedHeaders)\";"))
        #expect(map.contains("map $http_origin $todo_cors_vary {\n    default \"Origin\";\n}"))
        let none = CORSPolicy().nginxMap
        #expect(none.contains("map $http_origin $todo_cors_vary {\n    default \"\";\n}"))
        #expect(!none.contains("\"http"))
    }
}

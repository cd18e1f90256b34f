import JWT
import Testing
@testable import TodoAPI

@Suite("Tasks API: authentication and authorisation")
struct AuthenticationTests {
    @Test func missingTokenIs401WithBareChallenge() throws {
        let h = try Harness()
        let reply = try h.send("GET", "/api/alice/tasks")
        #expect(reply.status == 401)
        #expect(reply.isError("missing_token"))
        #expect(reply.header("WWW-Authenticate") == "Bearer")
    }

    @Test(arguments: ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Token abc", "", "Bearerabc"])
    func nonBearerAuthorizationIsMissingToken(_ header: String) throws {
        let h = try Harness()
        #expect(try h.send("GET", "/api/alice/tasks", authorization: header).isError("missing_token"))
    }

    @Test(arguments: ["bearer", "BEARER", "BeArEr"])
    func schemeIsCaseInsensitive(_ scheme: String) throws {
        let h = try Harness()
        let token = try h.token("alice")
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "\(scheme) \(token)").status == 200)
    }

    @Test func invalidTokenIs401WithRFC6750Challenge() throws {
        let h = try Harness()
        let reply = try h.send("GET", "/api/alice/tasks", authorization: "Bearer not.a.token")
        #expect(reply.status == 401)
        #expect(reply.isError("invalid_token"))
        let challenge = try #require(reply.header("WWW-Authenticate"))
        #expect(challenge.hasPrefix(#"Bearer error="invalid_token", error_description=""#))
    }

    @Test func expiredTokenSaysSo() throws {
        let h = try Harness()
        let token = try h.token("alice", lifetime: 60)
        h.clock.advance(by: 91_000)
        let reply = try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(token)")
        #expect(reply.status == 401)
        #expect(reply.header("WWW-Authenticate") == #"Bearer error="invalid_token", error_description="token expired""#)
    }

    @Test func cachedTokenStillExpires() throws {
        let h = try Harness()
        let token = try h.token("alice", lifetime: 60)
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(token)").status == 200)
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(token)").status == 200)
        h.clock.advance(by: 91_000)
        let reply = try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(token)")
        #expect(reply.header("WWW-Authenticate") == #"Bearer error="invalid_token", error_description="token expired""#)
    }

    @Test func cachedTokenIsBoundToItsExactBytes() throws {
        let h = try Harness()
        let token = try h.token("alice")
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(token)").status == 200)
        // The same token with its signature's last character changed must be verified afresh, and fail.
        let tampered = String(token.dropLast()) + (token.last == "A" ? "B" : "A")
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(tampered)").isError("invalid_token"))
        #expect(try h.send("GET", "/api/bob/tasks", authorization: "Bearer \(token)").isError("forbidden"))
    }

    @Test func tokenSignedWithAnotherSecretIs401() throws {
        let h = try Harness()
        let forged = try JWTSigner(secret: Array("some-other-secret-of-enough-length!!".utf8))
            .sign(subject: "alice", issuedAt: h.clock.milliseconds / 1000, lifetime: 600)
        #expect(try h.send("GET", "/api/alice/tasks", authorization: "Bearer \(forged)").isError("invalid_token"))
    }

    @Test func pathUserOtherThanSubjectIs403ForEveryRoute() throws {
        let h = try Harness()
        let id = try h.create("bob", #"{"title":"bob's"}"#)
        for (method, path) in [("GET", "/api/bob/tasks"), ("POST", "/api/bob/tasks"), ("GET", "/api/bob/tasks/\(id)"),
                               ("PUT", "/api/bob/tasks/\(id)"), ("DELETE", "/api/bob/tasks/\(id)"),
                               ("PATCH", "/api/bob/tasks/\(id)/complete"), ("GET", "/api/Bob/tasks"),
                               ("GET", "/api/bob%00/tasks")] {
            let reply = try h.send(method, path, as: "alice", json: #"{"title":"hijack"}"#)
            #expect(reply.status == 403, "\(method) \(path)")
            #expect(reply.isError("forbidden"))
        }
        // Nothing of bob's changed.
        let bobs = try h.send("GET", "/api/bob/tasks", as: "bob")
        #expect(bobs.array?.count == 1)
        #expect(bobs.array?.first?.objectValue?["title"] == .string("bob's"))
    }

    @Test func anotherUsersTaskIsNotFoundThroughOnesOwnPath() throws {
        let h = try Harness()
        let id = try h.create("bob", #"{"title":"bob's"}"#)
        for (method, path, body) in [("GET", "/api/alice/tasks/\(id)", nil), ("PUT", "/api/alice/tasks/\(id)", #"{"title":"x"}"#),
                                     ("DELETE", "/api/alice/tasks/\(id)", nil),
                                     ("PATCH", "/api/alice/tasks/\(id)/complete", nil as String?)] {
            let reply = try h.send(method, path, as: "alice", json: body)
            #expect(reply.isError("task_not_found"), "\(method) \(path)")
            #expect(reply.status == 404)
        }
        let bobs = try h.send("GET", "/api/bob/tasks/\(id)", as: "bob")
        #expect(bobs.object?["title"] == .string("bob's"))
        #expect(bobs.object?["completed"] == .bool(false))
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").text == "[]")
    }

    @Test func longUserIdsAreForbiddenUnlessTheTokenSaysTheSame() throws {
        let h = try Harness()
        let long = String(repeating: "u", count: 300)
        #expect(try h.send("GET", "/api/\(long)/tasks", as: "alice").status == 403)
        #expect(try h.send("GET", "/api/\(long)/tasks", as: long).status == 200)
    }
}

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
        let cases = [("DELETE", "/api/alice/tasks", "GET, HEAD, POST"), ("POST", "/api/alice/tasks/1", "GET, HEAD, PUT, DELETE"),
                     ("GET", "/api/alice/tasks/1/complete", "PATCH"), ("POST", "/health", "GET, HEAD"),
                     ("PATCH", "/api/alice/tasks/1", "GET, HEAD, PUT, DELETE")]
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
        #expect(try h.send("PUT", "/api/alice/tasks/999", as: "alice", json: "{}").isError("validation_error"))
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

@Suite("Tasks API: input validation")
struct ValidationTests {
    func post(_ h: Harness, _ json: String) throws -> Reply {
        try h.send("POST", "/api/alice/tasks", as: "alice", json: json)
    }

    @Test(arguments: [
        (#"{}"#, "validation_error"), (#"{"title":null}"#, "validation_error"), (#"{"title":5}"#, "validation_error"),
        (#"{"title":["x"]}"#, "validation_error"), (#"{"title":"   "}"#, "validation_error"),
        (#"{"title":"\u2003\n\t"}"#, "validation_error"), (#"{"title":""}"#, "validation_error"),
        (#"{"title":"x","description":5}"#, "validation_error"), (#"{"title":"x","description":false}"#, "validation_error"),
        (#"{"title":"x","completed":"yes"}"#, "validation_error"), (#"{"title":"x","completed":1}"#, "validation_error"),
        (#"{"title":"x","completed":null}"#, "validation_error"),
        (#"{"title":"x","titel":"y"}"#, "unknown_field"), (#"{"title":"x","userId":"bob"}"#, "unknown_field"),
        (#"{"title":"x","id":"7"}"#, "validation_error"), (#"{"title":"x","id":0}"#, "validation_error"),
        (#"{"title":"x","id":1.5}"#, "validation_error"), (#"{"title":"x","user_id":5}"#, "validation_error"),
        (#"{"title":"x","created_at":null}"#, "validation_error"), (#"{"title":"x","updated_at":[]}"#, "validation_error"),
        (#"[]"#, "invalid_json"), (#""title""#, "invalid_json"), (#"null"#, "invalid_json"), (#"{"title":"x""#, "invalid_json"),
        (#"{"title":"x","title":"y"}"#, "invalid_json"), (#"{"title":"\ud800"}"#, "invalid_json"), (#"{"title":1e999}"#, "invalid_json"),
        (#"{"title":'x'}"#, "invalid_json"), (" ", "invalid_json"),
    ] as [(String, String)])
    func rejectsBadBodiesWith400(_ json: String, _ code: String) throws {
        let h = try Harness()
        let reply = try post(h, json)
        #expect(reply.status == 400)
        #expect(reply.isError(code), "\(reply.text)")
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").text == "[]")
    }

    @Test func unknownFieldIsNamed() throws {
        let h = try Harness()
        #expect(try post(h, #"{"title":"x","titel":"y"}"#).object?["detail"] == .string(#"Unknown field "titel"."#))
    }

    @Test func invalidUTF8Is400() throws {
        let h = try Harness()
        let body: [UInt8] = Array(#"{"title":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", body: body).isError("invalid_json"))
    }

    @Test func deepNestingIs400() throws {
        let h = try Harness()
        let deep = #"{"title":"x","description":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
        #expect(try post(h, deep).isError("invalid_json"))
    }

    @Test func titleLengthCountsCodePointsAfterTrimming() throws {
        let h = try Harness()
        let emoji200 = String(repeating: "😀", count: 200)
        #expect(try post(h, #"{"title":"  \#(emoji200)  "}"#).status == 201)
        #expect(try post(h, #"{"title":"\#(emoji200)x"}"#).isError("validation_error"))
        #expect(try post(h, #"{"title":"\#(String(repeating: "a", count: 201))"}"#).isError("validation_error"))
        // A combining sequence counts each code point: e + U+0301 is 2.
        #expect(try post(h, #"{"title":"\#(String(repeating: "e\u{301}", count: 100))"}"#).status == 201)
        #expect(try post(h, #"{"title":"\#(String(repeating: "e\u{301}", count: 101))"}"#).isError("validation_error"))
    }

    @Test func descriptionLimitIs1000CodePoints() throws {
        let h = try Harness()
        #expect(try post(h, #"{"title":"x","description":"\#(String(repeating: "é", count: 1000))"}"#).status == 201)
        #expect(try post(h, #"{"title":"x","description":"\#(String(repeating: "é", count: 1001))"}"#).isError("validation_error"))
    }

    @Test func postAndPutRequireABody() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"x"}"#)
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice").isError("invalid_json"))
        #expect(try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice").isError("invalid_json"))
    }

    @Test func patchBodyNeedsCompleted() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"x"}"#)
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: "{}").isError("validation_error"))
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: #"{"completed":"true"}"#).isError("validation_error"))
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: #"{"completed":true,"title":"x"}"#).isError("unknown_field"))
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object?["completed"] == .bool(false))
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json", "multipart/form-data; boundary=x"])
    func nonJSONContentTypeIs415(_ contentType: String) throws {
        let h = try Harness()
        let reply = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x"}"#, contentType: contentType)
        #expect(reply.status == 415)
        #expect(reply.isError("unsupported_media_type"))
    }

    @Test func missingContentTypeWithBodyIs415() throws {
        let h = try Harness()
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x"}"#, contentType: nil).status == 415)
    }

    @Test(arguments: ["application/json", "application/json; charset=utf-8", "Application/JSON", " application/json ;charset=UTF-8"])
    func jsonContentTypesAreAccepted(_ contentType: String) throws {
        let h = try Harness()
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x"}"#, contentType: contentType).status == 201)
    }

    @Test func exactly64KiBIsAcceptedAndOneMoreIs413() throws {
        let h = try Harness()
        let prefix = Array(#"{"title":"big""#.utf8)
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: TodoApplication.maximumBodySize - prefix.count - 1)
        let exact = prefix + padding + [UInt8(ascii: "}")]
        #expect(exact.count == 65_536)
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", body: exact).status == 201)
        let reply = try h.send("POST", "/api/alice/tasks", as: "alice", body: [], bodyExceededLimit: true)
        #expect(reply.status == 413)
        #expect(reply.isError("payload_too_large"))
    }

    @Test func oversizedBodyIs401BeforeAuthentication() throws {
        let h = try Harness()
        #expect(try h.send("POST", "/api/alice/tasks", body: [], bodyExceededLimit: true).status == 401)
    }
}

import JWT
import Testing
import TaskModel
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

import JSON
import TaskModel
import Testing
@testable import TodoAPI

/// `/api/{user_id}/app-passwords` (Addendum v2.2 §14.2): made, listed and deleted with a JWT
/// only; the password shown once; at most 20.
@Suite("App passwords API")
struct AppPasswordAPITests {
    @Test func aCreateShowsThePasswordOnceAndStoresOnlyItsDigest() throws {
        let h = try Harness()
        let created = try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"  Phone  "}"#)
        #expect(created.status == 201 && created.header("Cache-Control") == "no-store")
        let object = try #require(created.object)
        #expect(Set(object.keys) == ["id", "name", "created_at", "last_used_at", "password"])
        #expect(object["name"] == .string("Phone") && object["last_used_at"] == .null)
        let password = try #require(object["password"]?.stringValue)
        // The prefix and 192 bits of base64url: 32 characters.
        #expect(password.hasPrefix("todo_") && password.utf8.count == 5 + 32)
        let digests = try h.store.appPasswordDigests(userID: "alice")
        #expect(digests.map(\.digest) == [try TodoApplication.digest(of: password)])
        #expect(!digests[0].digest.contains(password))
        let listed = try h.send("GET", "/api/alice/app-passwords", as: "alice")
        #expect(listed.status == 200 && listed.array?.count == 1)
        #expect(listed.array?.first?.objectValue?["password"] == nil && listed.array?.first?.objectValue?["name"] == .string("Phone"))
        // Two passwords are never the same.
        let other = try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"Laptop"}"#)
        #expect(other.object?["password"]?.stringValue != password)
    }

    @Test func aDeletedPasswordIsGoneAndAnotherUsersCannotBeReached() throws {
        let h = try Harness()
        let created = try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"Phone"}"#)
        let id = try #require(created.object?["id"]?.numberValue).formatted()
        #expect(try h.send("DELETE", "/api/bob/app-passwords/\(Int(id)!)", as: "bob").isError("app_password_not_found"))
        #expect(try h.send("DELETE", "/api/bob/app-passwords/\(Int(id)!)", as: "alice").isError("forbidden"))
        #expect(try h.send("GET", "/api/alice/app-passwords", as: "bob").isError("forbidden"))
        #expect(try h.send("DELETE", "/api/alice/app-passwords/\(Int(id)!)", as: "alice").status == 204)
        #expect(try h.send("DELETE", "/api/alice/app-passwords/\(Int(id)!)", as: "alice").isError("app_password_not_found"))
        #expect(try h.send("DELETE", "/api/alice/app-passwords/abc", as: "alice").isError("app_password_not_found"))
        #expect(try h.store.appPasswordDigests(userID: "alice").isEmpty)
    }

    @Test func atMostTwenty() throws {
        let h = try Harness()
        for number in 0..<AppPassword.maximumPerUser {
            #expect(try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"p\#(number)"}"#).status == 201)
        }
        let refused = try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"one more"}"#)
        #expect(refused.status == 409 && refused.isError("too_many_app_passwords"))
    }

    @Test(arguments: [#"{}"#, #"{"name":""}"#, #"{"name":"   "}"#, #"{"name":42}"#, #"{"name":"a\u0007b"}"#, #"[]"#,
                      "{\"name\":\"\(String(repeating: "n", count: 101))\"}"])
    func refusesBadNames(_ body: String) throws {
        let h = try Harness()
        #expect(try h.send("POST", "/api/alice/app-passwords", as: "alice", json: body).status == 400)
        #expect(try h.store.appPasswords(userID: "alice").isEmpty)
    }

    @Test func needsAJWTAndAJSONBody() throws {
        let h = try Harness()
        #expect(try h.send("GET", "/api/alice/app-passwords").isError("missing_token"))
        #expect(try h.send("GET", "/api/alice/app-passwords", authorization: "Basic YWxpY2U6dG9kb194").isError("missing_token"))
        #expect(try h.send("POST", "/api/alice/app-passwords", as: "alice", json: "not json").isError("invalid_json"))
        #expect(try h.send("POST", "/api/alice/app-passwords", as: "alice", json: #"{"name":"x"}"#, contentType: "text/plain")
            .isError("unsupported_media_type"))
        #expect(try h.send("PUT", "/api/alice/app-passwords", as: "alice", json: #"{"name":"x"}"#).isError("method_not_allowed"))
    }
}

import JSON
import Testing
import TaskModel
@testable import TodoAPI

@Suite("Tasks API: success paths")
struct TaskAPITests {
    @Test func createReturns201WithLocationAndTheTask() throws {
        let h = try Harness()
        let reply = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"  Buy milk \u3000","description":"2 litres"}"#)
        #expect(reply.status == 201)
        let task = try #require(reply.object)
        let id = try #require(task["id"]?.numberValue)
        #expect(reply.header("Location") == "/api/alice/tasks/\(Int(id))")
        #expect(task["user_id"] == .string("alice"))
        #expect(task["title"] == .string("Buy milk"))
        #expect(task["description"] == .string("2 litres"))
        #expect(task["completed"] == .bool(false))
        let created = try #require(task["created_at"]?.stringValue)
        #expect(created == Timestamp.format(milliseconds: h.clock.milliseconds))
        #expect(task["updated_at"] == task["created_at"])
        // v2 fields, at their defaults.
        #expect(task["priority"] == .string("medium"))
        #expect(task["tags"] == .array([]))
        #expect(task["due_date"] == .null && task["recurrence"] == .null && task["completed_at"] == .null)
        #expect(task["next_task_id"] == .null)
        #expect(task["version"] == .number(1))
        #expect(reply.header("ETag") == "\"1\"")
        // Addendum v2.2: the VTODO's UID, a random UUID for a task made here.
        #expect(task["uid"]?.stringValue?.utf8.count == 36)
        #expect(task.count == 15)
    }

    @Test func createAcceptsCompletedAndNullDescription() throws {
        let h = try Harness()
        let reply = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"x","description":null,"completed":true}"#)
        #expect(reply.status == 201)
        #expect(reply.object?["completed"] == .bool(true))
        #expect(reply.object?["description"] == .null)
    }

    @Test func emptyDescriptionIsKept() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"x","description":""}"#)
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object?["description"] == .string(""))
    }

    @Test func getReturnsTheStoredTask() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Read"}"#)
        let reply = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice")
        #expect(reply.status == 200)
        #expect(reply.object?["title"] == .string("Read"))
        #expect(reply.object?["id"] == .number(Double(id)))
    }

    @Test func headIsAnsweredLikeGet() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Read"}"#)
        #expect(try h.send("HEAD", "/api/alice/tasks/\(id)", as: "alice").status == 200)
        #expect(try h.send("HEAD", "/api/alice/tasks", as: "alice").status == 200)
    }

    @Test func putUpdatesOnlyTheFieldsItIsGiven() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Old","description":"d","completed":true}"#)
        h.clock.advance(by: 1500)
        let reply = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: #"{"title":" New "}"#)
        #expect(reply.status == 200)
        #expect(reply.object?["title"] == .string("New"))
        // v2 §0: an omitted description is kept (v1 cleared it); null clears it.
        #expect(reply.object?["description"] == .string("d"))
        #expect(reply.object?["version"] == .number(2))
        #expect(reply.object?["completed"] == .bool(true))
        #expect(reply.object?["updated_at"] == .string(Timestamp.format(milliseconds: h.clock.milliseconds)))
        #expect(reply.object?["created_at"] != reply.object?["updated_at"])
        let second = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: #"{"title":"New","completed":false,"description":null}"#)
        #expect(second.object?["completed"] == .bool(false))
        #expect(second.object?["description"] == .null)
        // {} is accepted and still counts as a write.
        let empty = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: "{}")
        #expect(empty.status == 200 && empty.object?["version"] == .number(4))
    }

    @Test func putAcceptsTheObjectItGotBack() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Echo"}"#)
        var task = try #require(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object)
        task["title"] = .string("Echoed")
        task["user_id"] = .string("mallory")  // read-only: ignored, never applied
        task["id"] = .number(999)
        var writer = JSONWriter()
        writer.raw("{")
        for (index, key) in task.keys.sorted().enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(key)
            writer.raw(":")
            switch task[key]! {
            case .string(let s): writer.string(s)
            case .number(let n): writer.integer(Int64(n))
            case .bool(let b): writer.bool(b)
            default: writer.null()
            }
        }
        writer.raw("}")
        let reply = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", body: writer.bytes)
        #expect(reply.status == 200)
        #expect(reply.object?["title"] == .string("Echoed"))
        #expect(reply.object?["user_id"] == .string("alice"))
        #expect(reply.object?["id"] == .number(Double(id)))
    }

    @Test func patchSetsAndTogglesCompletion() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Toggle"}"#)
        let set = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: #"{"completed":true}"#)
        #expect(set.status == 200 && set.object?["completed"] == .bool(true))
        let again = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: #"{"completed":true}"#)
        #expect(again.object?["completed"] == .bool(true))
        let toggled = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice")
        #expect(toggled.status == 200 && toggled.object?["completed"] == .bool(false))
        let back = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice")
        #expect(back.object?["completed"] == .bool(true))
    }

    @Test func everyChangeMovesUpdatedAtEvenWithinOneMillisecond() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Fast"}"#)
        var previous = try #require(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object?["updated_at"]?.stringValue)
        for request in [("PATCH", "/api/alice/tasks/\(id)/complete", nil as String?),
                        ("PUT", "/api/alice/tasks/\(id)", #"{"title":"Fast"}"#),
                        ("PATCH", "/api/alice/tasks/\(id)/complete", #"{"completed":true}"#)] {
            let reply = try h.send(request.0, request.1, as: "alice", json: request.2)
            let updated = try #require(reply.object?["updated_at"]?.stringValue)
            #expect(updated > previous)
            previous = updated
        }
    }

    @Test func deleteReturns204ThenTheTaskIsGone() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"Gone"}"#)
        let reply = try h.send("DELETE", "/api/alice/tasks/\(id)", as: "alice")
        #expect(reply.status == 204)
        #expect(reply.response.body.isEmpty)
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").isError("task_not_found"))
        #expect(try h.send("DELETE", "/api/alice/tasks/\(id)", as: "alice").isError("task_not_found"))
    }

    @Test func idsAreNeverReusedAfterDelete() throws {
        let h = try Harness()
        let first = try h.create("alice", #"{"title":"a"}"#)
        let second = try h.create("alice", #"{"title":"b"}"#)
        _ = try h.send("DELETE", "/api/alice/tasks/\(second)", as: "alice")
        let third = try h.create("alice", #"{"title":"c"}"#)
        #expect(first < second && second < third)
    }

    @Test func healthReportsOK() throws {
        let h = try Harness()
        let reply = try h.send("GET", "/health")
        #expect(reply.status == 200)
        #expect(reply.text == #"{"status":"ok"}"#)
    }

    @Test func storesInjectionAndUnicodeVerbatim() throws {
        let h = try Harness()
        // Every control character but U+0000 (contract §11) is text like any other.
        let title = #"'); DROP TABLE tasks; -- 😀 \" \u0001\u001f"#
        let id = try h.create("alice", #"{"title":"\#(title)","description":"1' OR '1'='1"}"#)
        let reply = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice")
        #expect(reply.object?["title"] == .string("'); DROP TABLE tasks; -- 😀 \" \u{1}\u{1F}"))
        #expect(reply.object?["description"] == .string("1' OR '1'='1"))
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").array?.count == 1)
    }

    @Test func userIdsWithEncodedSlashAndUnicodeWork() throws {
        let h = try Harness()
        let user = "team/é 1"
        let reply = try h.send("POST", "/api/team%2F%C3%A9%201/tasks", as: user, json: #"{"title":"x"}"#)
        #expect(reply.status == 201)
        #expect(reply.object?["user_id"] == .string(user))
        let location = try #require(reply.header("Location"))
        #expect(location.hasPrefix("/api/team%2F%C3%A9%201/tasks/"))
        #expect(try h.send("GET", location, as: user).status == 200)
    }
}

@Suite("Tasks API: listing")
struct TaskListTests {
    func seed(_ h: Harness) throws -> [Int64] {
        var ids: [Int64] = []
        for (title, done) in [("banana", false), ("Apple", true), ("cherry", false), ("apple", false), ("Éclair", true)] {
            ids.append(try h.create("alice", #"{"title":"\#(title)","completed":\#(done)}"#))
            h.clock.advance(by: 10)
        }
        try h.create("bob", #"{"title":"bob's"}"#)
        return ids
    }

    func titles(_ reply: ParsedReply) -> [String] {
        reply.array?.compactMap { $0.objectValue?["title"]?.stringValue } ?? []
    }

    @Test func listsOnlyTheOwnersTasksInCreationOrder() throws {
        let h = try Harness()
        _ = try seed(h)
        let reply = try h.send("GET", "/api/alice/tasks", as: "alice")
        #expect(reply.status == 200)
        #expect(titles(reply) == ["banana", "Apple", "cherry", "apple", "Éclair"])
        #expect(reply.header("X-Total-Count") == "5")
    }

    @Test func emptyListIsAnEmptyArray() throws {
        let h = try Harness()
        let reply = try h.send("GET", "/api/nobody/tasks", as: "nobody")
        #expect(reply.text == "[]")
        #expect(reply.header("X-Total-Count") == "0")
    }

    @Test func filtersByStatus() throws {
        let h = try Harness()
        _ = try seed(h)
        let pending = try h.send("GET", "/api/alice/tasks?status=pending", as: "alice")
        #expect(titles(pending) == ["banana", "cherry", "apple"])
        #expect(pending.header("X-Total-Count") == "3")
        let done = try h.send("GET", "/api/alice/tasks?status=completed", as: "alice")
        #expect(titles(done) == ["Apple", "Éclair"])
    }

    @Test func sortsByTitleCaseInsensitivelyWithTiesById() throws {
        let h = try Harness()
        _ = try seed(h)
        let ascending = try h.send("GET", "/api/alice/tasks?sort=title", as: "alice")
        #expect(titles(ascending) == ["Apple", "apple", "banana", "cherry", "Éclair"])
        let descending = try h.send("GET", "/api/alice/tasks?sort=title&order=desc", as: "alice")
        #expect(titles(descending) == ["Éclair", "cherry", "banana", "apple", "Apple"])
    }

    @Test func sortsByUpdated() throws {
        let h = try Harness()
        let ids = try seed(h)
        _ = try h.send("PATCH", "/api/alice/tasks/\(ids[0])/complete", as: "alice")
        let reply = try h.send("GET", "/api/alice/tasks?sort=updated&order=desc", as: "alice")
        #expect(titles(reply).first == "banana")
    }

    @Test func pagesWithLimitAndOffsetAndCountsBeforePaging() throws {
        let h = try Harness()
        _ = try seed(h)
        let page = try h.send("GET", "/api/alice/tasks?limit=2&offset=1", as: "alice")
        #expect(titles(page) == ["Apple", "cherry"])
        #expect(page.header("X-Total-Count") == "5")
        let partial = try h.send("GET", "/api/alice/tasks?limit=3&offset=3", as: "alice")
        #expect(titles(partial) == ["apple", "Éclair"])
        #expect(partial.header("X-Total-Count") == "5")
        let exact = try h.send("GET", "/api/alice/tasks?limit=5", as: "alice")
        #expect(exact.header("X-Total-Count") == "5")
        let filteredPage = try h.send("GET", "/api/alice/tasks?status=pending&limit=2", as: "alice")
        #expect(titles(filteredPage) == ["banana", "cherry"])
        #expect(filteredPage.header("X-Total-Count") == "3")
        let past = try h.send("GET", "/api/alice/tasks?offset=50", as: "alice")
        #expect(past.text == "[]")
        #expect(past.header("X-Total-Count") == "5")
    }

    @Test func rejectsBadQueriesWith400() throws {
        let h = try Harness()
        for query in ["limit=0", "limit=1001", "limit=x", "sort=bogus", "status=done", "offset=-1", "limit=5&limit=5",
                      "q=%00", "q=a%00b", "tag=%00", "tag=a%00", "priority=low%00"] {
            #expect(try h.send("GET", "/api/alice/tasks?\(query)", as: "alice").isError("invalid_query"), "\(query)")
        }
    }
}

import JWT
import Testing
import TaskModel
@testable import TodoAPI

@Suite("Tasks API: input validation")
struct ValidationTests {
    func post(_ h: Harness, _ json: String) throws -> ParsedReply {
        try h.send("POST", "/api/alice/tasks", as: "alice", json: json)
    }

    @Test(arguments: [
        (#"{}"#, "validation_error"), (#"{"title":null}"#, "validation_error"), (#"{"title":5}"#, "validation_error"),
        (#"{"title":["x"]}"#, "validation_error"), (#"{"title":"   "}"#, "validation_error"),
        (#"{"title":"\u2003\n\t"}"#, "validation_error"), (#"{"title":""}"#, "validation_error"),
        (#"{"title":"x","description":5}"#, "validation_error"), (#"{"title":"x","description":false}"#, "validation_error"),
        (#"{"title":"x","completed":"yes"}"#, "validation_error"), (#"{"title":"x","completed":1}"#, "validation_error"),
        (#"{"title":"x","completed":null}"#, "validation_error"),
        (#"{"title":"x","priority":"urgent"}"#, "validation_error"), (#"{"title":"x","priority":1}"#, "validation_error"),
        (#"{"title":"x","tags":"a"}"#, "validation_error"), (#"{"title":"x","tags":[1]}"#, "validation_error"),
        (#"{"title":"x","tags":["a","A"]}"#, "validation_error"), (#"{"title":"x","tags":["  "]}"#, "validation_error"),
        (#"{"title":"x","tags":["a\u0007"]}"#, "validation_error"), (#"{"title":"x","tags":["x\u0085y"]}"#, "validation_error"),
        (#"{"title":"x","tags":["1","2","3","4","5","6","7","8","9","10","11"]}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-02-29"}"#, "validation_error"), (#"{"title":"x","due_date":"2026-12-24Z"}"#, "validation_error"),
        (#"{"title":"x","due_date":"1969-12-31"}"#, "validation_error"), (#"{"title":"x","due_date":"2026-12-4"}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00Z"}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00"}"#, "validation_error"), (#"{"title":"x","due_date":1766599200000}"#, "validation_error"),
        (#"{"title":"x","due_date":"1969-12-31T23:59:59Z"}"#, "validation_error"), (#"{"title":"x","due_date":"2026-02-29T00:00:00Z"}"#, "validation_error"),
        (#"{"title":"x","recurrence":{"frequency":"daily"}}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00Z","recurrence":{"frequency":"hourly"}}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00Z","recurrence":{"frequency":"daily","interval":0}}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00Z","recurrence":{"frequency":"daily","interval":366}}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00Z","recurrence":{"frequency":"daily","interval":1.5}}"#, "validation_error"),
        (#"{"title":"x","due_date":"2026-12-24T18:00:00Z","recurrence":"daily"}"#, "validation_error"),
        (#"{"title":"x","version":0}"#, "validation_error"), (#"{"title":"x","next_task_id":"3"}"#, "validation_error"),
        (#"{"title":"x","completed_at":5}"#, "validation_error"),
        (#"{"title":"\u0000leading"}"#, "validation_error"), (#"{"title":"nul\u0000tail"}"#, "validation_error"),
        (#"{"title":"x","description":"\u0000"}"#, "validation_error"), (#"{"title":"x","tags":["a\u0000"]}"#, "validation_error"),
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

    @Test func unknownFieldsAreIgnoredAtAnyDepthAndNeverEchoed() throws {
        let h = try Harness()
        let reply = try post(h, #"{"title":"x","titel":"y","priority_id":7,"userId":"bob","#
            + #""due_date":"2026-01-31T09:00:00Z","recurrence":{"frequency":"monthly","every":"day"}}"#)
        #expect(reply.status == 201, "\(reply.text)")
        #expect(!reply.text.contains("titel") && !reply.text.contains("every") && !reply.text.contains("bob"))
        #expect(reply.object?["recurrence"] == .object(["frequency": .string("monthly"), "interval": .number(1)]))
        #expect(reply.object?["user_id"] == .string("alice"))
    }

    /// Contract §10: "" for due_date (an HTML form's empty date field) is null on POST, PUT and
    /// PATCH. Before, v2 answered 400, and a front end sending it could create or edit nothing.
    @Test func anEmptyDueDateIsNoDate() throws {
        let h = try Harness()
        let created = try post(h, #"{"title":"form","due_date":""}"#)
        #expect(created.status == 201 && created.object?["due_date"] == .null)
        guard case .number(let number)? = created.object?["id"] else { Issue.record("no id"); return }
        let id = Int64(number)
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2026-12-24T18:00:00Z"}"#).status == 200)
        let cleared = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":""}"#)
        #expect(cleared.status == 200 && cleared.object?["due_date"] == .null)
        #expect(try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2026-12-24T18:00:00Z"}"#).status == 200)
        let patched = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":""}"#)
        #expect(patched.status == 200 && patched.object?["due_date"] == .null)
        // As null, it cannot carry a recurrence; whitespace is not empty.
        #expect(try post(h, #"{"title":"x","due_date":"","recurrence":{"frequency":"daily"}}"#).isError("validation_error"))
        #expect(try post(h, #"{"title":"x","due_date":" "}"#).isError("validation_error"))
    }

    /// Contract §11: U+0000 is refused by every write, and nothing changes.
    @Test func nulIsRefusedByPutAndPatchToo() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"kept","description":"d"}"#)
        for (method, json) in [("PUT", #"{"title":"a\u0000"}"#), ("PUT", #"{"description":"\u0000"}"#),
                               ("PATCH", #"{"title":"\u0000"}"#), ("PATCH", #"{"description":"x\u0000y"}"#)] {
            #expect(try h.send(method, "/api/alice/tasks/\(id)", as: "alice", json: json).isError("validation_error"), "\(method) \(json)")
        }
        let task = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice")
        #expect(task.object?["title"] == .string("kept") && task.object?["description"] == .string("d") && task.object?["version"] == .number(1))
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
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object?["completed"] == .bool(false))
        // An unknown field is ignored (v2 §0), so is the title here: only completion changes.
        let done = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice", json: #"{"completed":true,"title":"y"}"#)
        #expect(done.object?["completed"] == .bool(true) && done.object?["title"] == .string("x"))
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
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: HTTPRequest.maximumBodySize - prefix.count - 1)
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

import Foundation
import JSON
import Testing
import TaskModel
@testable import TodoAPI

/// Contract §10: all-day due dates (`YYYY-MM-DD`) are stored and returned as dates, sort and
/// filter as their day's 00:00:00Z with all-day first at an equal instant, and recur as dates.
@Suite("All-day due dates")
struct AllDayDueDateTests {
    @Test(arguments: [("1970-01-01", 0), ("2027-03-01", 1_803_859_200_000), ("2028-02-29", 1_835_395_200_000),
                      ("2000-02-29", 951_782_400_000), ("9999-12-31", 253_402_214_400_000)] as [(String, Int64)])
    func datesParseToTheirDaysMidnightAndPrintAsSent(_ text: String, _ milliseconds: Int64) throws {
        let due = try #require(TaskDueDate.parse(text.utf8))
        #expect(due.isAllDay && due.milliseconds == milliseconds)
        #expect(due.text == text)
    }

    @Test(arguments: ["2026-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-12-00", "1969-12-31",
                      "0000-01-01", "10000-01-01", "2026-12-4", "2026-1-04", "2026/12/24", "2026-12-24 ", " 2026-12-24",
                      "2026-12-24Z", "2026-12-24T", "+2026-12-24", "20261224", "２０２６-12-24", "2026-12-2a", ""])
    func impossibleOrMalformedDatesAreRefused(_ text: String) {
        #expect(Timestamp.parseDate(text.utf8) == nil)
        #expect(TaskDueDate.parse(text.utf8) == nil)
    }

    @Test func aDateTimeStaysAnInstant() throws {
        let due = try #require(TaskDueDate.parse("2027-03-01T00:00:00Z".utf8))
        #expect(!due.isAllDay && due.milliseconds == 1_803_859_200_000 && due.text == "2027-03-01T00:00:00.000Z")
        #expect(due != TaskDueDate.parse("2027-03-01".utf8))
    }

    /// docs/openapi.yaml's `DueDay` pattern (schemathesis generates from it) allows exactly the
    /// dates the parser accepts.
    @Test func theOpenAPIDatePatternAndTheParserAgree() throws {
        let spec = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/TodoAPITests/AllDayDueDateTests.swift",
                                                                             with: "docs/openapi.yaml"), encoding: .utf8)
        let lines = spec.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "    DueDay:" })
        let line = try #require(lines[start...].first { $0.contains("pattern: '") })
        let regex = try Regex(String(line.split(separator: "'")[1]))
        var generator = SystemRandomNumberGenerator()
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var matched = 0
        for _ in 0..<20_000 {
            let year = [1969, 1970, 1972, 1900, 2000, 2100, 2400, 9996, 9999, Int.random(in: 1970...9999, using: &generator)].randomElement()!
            let month = Int.random(in: 0...13, using: &generator)
            let day = Bool.random() ? [28, 29, 30, 31].randomElement()! : Int.random(in: 0...32, using: &generator)
            let text = "\(year)-\(two(month))-\(two(day))"
            let parses = Timestamp.parseDate(text.utf8) != nil
            let matches = (try? regex.wholeMatch(in: text)) != nil
            if matches { matched += 1 }
            #expect(matches == parses, "\(text): pattern \(matches), parser \(parses)")
        }
        #expect(matched > 1000)
    }

    @Test(arguments: [
        ("2026-01-31", TaskRecurrence.Frequency.monthly, 1, "2026-02-28"), ("2028-01-31", .monthly, 1, "2028-02-29"),
        ("2028-02-29", .yearly, 1, "2029-02-28"), ("2026-12-31", .daily, 1, "2027-01-01"), ("2026-12-24", .weekly, 2, "2027-01-07"),
    ] as [(String, TaskRecurrence.Frequency, Int64, String)])
    func allDayRecurrenceAdvancesOnTheCalendarAndStaysAllDay(_ due: String, _ frequency: TaskRecurrence.Frequency,
                                                             _ interval: Int64, _ next: String) throws {
        let advanced = TaskRecurrence(frequency: frequency, interval: interval).advance(try #require(TaskDueDate.parse(due.utf8)))
        #expect(advanced.isAllDay && advanced.text == next)
    }

    @Test func aDateIsStoredAndReturnedAsADateOnEveryRoute() throws {
        let h = try Harness()
        let created = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"party","due_date":"2027-03-01"}"#)
        #expect(created.status == 201 && created.object?["due_date"] == .string("2027-03-01"), "\(created.text)")
        let id = try #require(created.object?["id"]?.numberValue).formatted(.number.grouping(.never))
        #expect(try h.send("GET", "/api/alice/tasks/\(id)", as: "alice").object?["due_date"] == .string("2027-03-01"))
        #expect(try h.send("GET", "/api/alice/tasks", as: "alice").array?.first?.objectValue?["due_date"] == .string("2027-03-01"))
        let synced = try h.send("GET", "/api/alice/tasks/changes", as: "alice")
        #expect((synced.object?["tasks"]).flatMap { if case .array(let items) = $0 { return items.first?.objectValue?["due_date"] } else { return nil } } == .string("2027-03-01"), "\(synced.text)")
        let timed = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2027-03-01T09:30:00+01:00"}"#)
        #expect(timed.object?["due_date"] == .string("2027-03-01T08:30:00.000Z"))
        let back = try h.send("PUT", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2027-03-02"}"#)
        #expect(back.object?["due_date"] == .string("2027-03-02"))
        // The same day again is no change for a merge PATCH: the version stays.
        let same = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2027-03-02"}"#)
        #expect(same.object?["version"] == back.object?["version"])
        // The instant at that midnight is a different due date: a change.
        let midnight = try h.send("PATCH", "/api/alice/tasks/\(id)", as: "alice", json: #"{"due_date":"2027-03-02T00:00:00Z"}"#)
        #expect(midnight.object?["due_date"] == .string("2027-03-02T00:00:00.000Z") && midnight.object?["version"] != back.object?["version"])
    }

    @Test func atAnEqualInstantAllDayTasksComeFirstInBothOrders() throws {
        let h = try Harness()
        let timedFirst = try h.create("alice", #"{"title":"timed","due_date":"2027-03-01T00:00:00Z"}"#)
        let allDay = try h.create("alice", #"{"title":"all day","due_date":"2027-03-01"}"#)
        let earlier = try h.create("alice", #"{"title":"earlier","due_date":"2027-02-28T23:59:59.999Z"}"#)
        let later = try h.create("alice", #"{"title":"later","due_date":"2027-03-01T00:00:00.001Z"}"#)
        let allDay2 = try h.create("alice", #"{"title":"all day too","due_date":"2027-03-01"}"#)
        let none = try h.create("alice", #"{"title":"none"}"#)
        func ids(_ query: String) throws -> [Int64] {
            try h.send("GET", "/api/alice/tasks?\(query)", as: "alice").array?.compactMap { $0.objectValue?["id"]?.numberValue.map { Int64($0) } } ?? []
        }
        #expect(try ids("sort=due_date&order=asc") == [earlier, allDay, allDay2, timedFirst, later, none])
        #expect(try ids("sort=due_date&order=desc") == [later, allDay2, allDay, timedFirst, earlier, none])
        // A date bound means that day's 00:00:00Z; all-day tasks filter at the same instant.
        #expect(try Set(ids("due_after=2027-03-01")) == [allDay, allDay2, timedFirst, later])
        #expect(try ids("due_before=2027-03-01") == [earlier])
        #expect(try ids("due_before=2027-03-01T00:00:00.001Z&sort=due_date") == [earlier, allDay, allDay2, timedFirst])
        for bad in ["due_before=2027-02-30", "due_after=2027-3-1", "due_after=", "due_before=2027-03-01T00:00"] {
            #expect(try h.send("GET", "/api/alice/tasks?\(bad)", as: "alice").isError("invalid_query"), "\(bad)")
        }
    }

    @Test func completingARecurringAllDayTaskCreatesAnAllDayNextOccurrence() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"rent","due_date":"2028-01-31","recurrence":{"frequency":"monthly"}}"#)
        let done = try h.send("PATCH", "/api/alice/tasks/\(id)/complete", as: "alice")
        let next = try #require(done.object?["next_task_id"]?.numberValue).formatted(.number.grouping(.never))
        let occurrence = try h.send("GET", "/api/alice/tasks/\(next)", as: "alice")
        #expect(occurrence.object?["due_date"] == .string("2028-02-29"), "\(occurrence.text)")
        #expect(occurrence.object?["completed"] == .bool(false))
        // The last day there is: the series ends, nothing is created past year 9999.
        let last = try h.create("alice", #"{"title":"end","due_date":"9999-12-31","recurrence":{"frequency":"daily"}}"#)
        let ended = try h.send("PATCH", "/api/alice/tasks/\(last)/complete", as: "alice")
        #expect(ended.status == 200 && ended.object?["next_task_id"] == .null)
    }
}

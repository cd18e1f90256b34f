import Crypto
import Foundation
import JSON
import JWT
import Testing
import TaskModel
@testable import TodoAPI

/// Task model v2's pure rules: due dates, recurrence arithmetic, entity tags, cursors and the
/// write decision; and, in-process with a settable clock, what needs time to pass (410).
@Suite("Task model v2")
struct TaskModelV2Tests {
    static func instant(_ text: String) -> Int64? { Timestamp.parse(text.utf8) }

    @Test(arguments: [
        ("2026-12-24T18:00:00Z", "2026-12-24T18:00:00.000Z"), ("2026-12-24t18:00:00z", "2026-12-24T18:00:00.000Z"),
        ("2026-12-24T18:00:00.1Z", "2026-12-24T18:00:00.100Z"), ("2026-12-24T18:00:00.123999999Z", "2026-12-24T18:00:00.123Z"),
        ("2026-12-24T18:00:00+01:00", "2026-12-24T17:00:00.000Z"), ("2026-01-01T00:30:00+05:45", "2025-12-31T18:45:00.000Z"),
        ("2024-02-29T12:00:00-12:00", "2024-03-01T00:00:00.000Z"), ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    ])
    func dueDatesParseToUTCMilliseconds(_ text: String, _ utc: String) throws {
        #expect(Timestamp.format(milliseconds: try #require(Self.instant(text))) == utc)
    }

    @Test(arguments: ["2026-12-24", "2026-12-24T18:00Z", "2026-12-24T18:00:00", "2026-12-24 18:00:00Z", "2026-12-24T18:00:60Z",
                      "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-12-32T00:00:00Z",
                      "2026-12-24T24:00:00Z", "2026-12-24T18:00:00.Z", "2026-12-24T18:00:00.1234567890Z", "1969-12-31T23:59:59Z",
                      "1970-01-01T00:30:00+01:00", "10000-01-01T00:00:00Z", "2026-12-24T18:00:00+1:00", "2026-12-24T18:00:00+01",
                      "2026-12-24T18:00:00+24:00", "2026-12-24T18:00:00Zjunk", "+2026-12-24T18:00:00Z", "２０２６-12-24T18:00:00Z", ""])
    func malformedDueDatesAreRefused(_ text: String) {
        #expect(Self.instant(text) == nil)
    }

    /// docs/openapi.yaml describes due dates with a pattern (schemathesis generates from it): every
    /// date-time it allows must parse, and every one that parses must match it, except on the
    /// two edge days where an offset could carry the instant out of 1970...9999 (the pattern
    /// leaves those offsets out).
    @Test func theOpenAPIPatternAndTheParserAgree() throws {
        let spec = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/TodoAPITests/TaskModelV2Tests.swift", with: "docs/openapi.yaml"),
                              encoding: .utf8)
        let line = try #require(spec.split(separator: "\n").first { $0.contains("pattern: '^(?:(?:(?:19") })
        let pattern = String(line.split(separator: "'")[1])
        let regex = try Regex(pattern)
        var generator = SystemRandomNumberGenerator()
        func two(_ range: ClosedRange<Int>) -> String { let n = Int.random(in: range, using: &generator); return n < 10 ? "0\(n)" : "\(n)" }
        var matched = 0
        for _ in 0..<20_000 {
            let year = [1969, 1970, 1971, 2000, 2024, 2100, 9998, 9999, Int.random(in: 1970...9999, using: &generator)].randomElement()!
            let month = Bool.random() ? [1, 2, 12].randomElement()! : Int.random(in: 0...13, using: &generator)
            let day = Bool.random() ? [1, 28, 29, 30, 31].randomElement()! : Int.random(in: 0...32, using: &generator)
            let offset = ["Z", "z", "+00:00", "-00:00", "+01:00", "-05:30", "+23:59", "-24:00", ""].randomElement()!
            let text = "\(year)-\(two(month...month))-\(two(day...day))T\(two(0...24)):\(two(0...59)):\(two(0...60))"
                + ["", ".5", ".123456789", ".1234567890"].randomElement()! + offset
            let parses = Timestamp.parse(text.utf8) != nil
            let matches = (try? regex.wholeMatch(in: text)) != nil
            if matches { matched += 1 }
            let edgeDay = text.hasPrefix("1970-01-01") || text.hasPrefix("9999-12-31")
            #expect(!matches || parses, "the pattern allows \(text), which is refused")
            #expect(matches || !parses || edgeDay, "\(text) parses but the pattern refuses it")
        }
        #expect(matched > 1000)
    }

    @Test(arguments: [
        ("2026-01-31T09:00:00Z", TaskRecurrence.Frequency.monthly, 1, "2026-02-28T09:00:00.000Z"),
        ("2028-01-31T09:00:00Z", .monthly, 1, "2028-02-29T09:00:00.000Z"),
        ("2026-03-31T09:00:00Z", .monthly, 1, "2026-04-30T09:00:00.000Z"),
        ("2026-11-30T09:00:00Z", .monthly, 3, "2027-02-28T09:00:00.000Z"),
        ("2026-05-15T09:00:00Z", .monthly, 12, "2027-05-15T09:00:00.000Z"),
        ("2028-02-29T23:59:59.999Z", .yearly, 1, "2029-02-28T23:59:59.999Z"),
        ("2028-02-29T00:00:00Z", .yearly, 4, "2032-02-29T00:00:00.000Z"),
        ("2026-12-31T10:00:00Z", .daily, 1, "2027-01-01T10:00:00.000Z"),
        ("2026-12-31T10:00:00Z", .weekly, 52, "2027-12-30T10:00:00.000Z"),
        ("2026-01-01T00:00:00Z", .daily, 365, "2027-01-01T00:00:00.000Z"),
    ])
    func recurrenceAdvancesOnTheCalendar(_ due: String, _ frequency: TaskRecurrence.Frequency, _ interval: Int64, _ next: String) throws {
        let recurrence = TaskRecurrence(frequency: frequency, interval: interval)
        #expect(Timestamp.format(milliseconds: recurrence.advance(try #require(Self.instant(due)))) == next)
    }

    @Test func entityTagsCompareStronglyForIfMatchAndWeaklyForIfNoneMatch() {
        #expect(EntityTags.ifMatch("\"3\"", version: 3))
        #expect(EntityTags.ifMatch(" \"1\" , \"3\" ", version: 3))
        #expect(EntityTags.ifMatch("*", version: 3))
        #expect(!EntityTags.ifMatch("W/\"3\"", version: 3))
        #expect(!EntityTags.ifMatch("\"4\"", version: 3))
        #expect(!EntityTags.ifMatch("3", version: 3))
        #expect(!EntityTags.ifMatch("\"3\", bogus", version: 3))
        #expect(!EntityTags.ifMatch("", version: 3))
        #expect(EntityTags.ifNoneMatch("W/\"3\"", version: 3))
        #expect(EntityTags.ifNoneMatch("\"2\", W/\"3\"", version: 3))
        #expect(!EntityTags.ifNoneMatch("\"2\"", version: 3))
        #expect(EntityTags.strongVersions("\"1\", W/\"2\", \"x\"") == [1])
        #expect(EntityTags.strongVersions("*") == nil)
        #expect(EntityTags.strongVersions("nonsense") == [])
    }

    @Test func cursorsBelongToTheirUserAndKey() throws {
        let key = [UInt8](repeating: 7, count: SyncCursorKey.byteCount)
        let cursors = try SyncCursor(key: key)
        let position = SyncPosition(change: 42, floor: 40)
        let cursor = cursors.encode(position, userID: "alice")
        #expect(cursors.decode(cursor, userID: "alice") == position)
        #expect(cursors.decode(cursor, userID: "bob") == nil)
        #expect(cursors.decode("", userID: "alice") == nil)
        #expect(cursors.decode(String(cursor.dropLast()), userID: "alice") == nil)
        #expect(cursors.decode(cursor + "A", userID: "alice") == nil)
        #expect(!cursor.contains("42"))  // opaque, not a readable number
        // Another database's key (or none known to the forger) does not verify.
        #expect(try SyncCursor(key: [UInt8](repeating: 8, count: SyncCursorKey.byteCount)).decode(cursor, userID: "alice") == nil)
        // Every bit counts: a change of any byte (the numbers, the format, the MAC) is refused.
        let bytes = try #require(Base64URL.decode(Array(cursor.utf8)))
        for index in bytes.indices {
            var forged = bytes
            forged[index] ^= 0x01
            #expect(cursors.decode(Base64URL.encode(forged), userID: "alice") == nil, "byte \(index) flipped")
        }
        // The previous format (change number and an unkeyed SHA-256 anyone can compute) is refused.
        let unkeyed = "42." + SHA256.hexPrefix(of: Array("todo-fcgi sync cursor\u{0}alice\u{0}42".utf8), count: 16)
        #expect(cursors.decode(Base64URL.encode(Array(unkeyed.utf8)), userID: "alice") == nil)
        // A negative number under a valid MAC is never a position.
        #expect(cursors.decode(cursors.encode(SyncPosition(change: -1, floor: 0), userID: "alice"), userID: "alice") == nil)
    }

    @Test func storedKeysAreHexOfTheirLength() {
        #expect(SyncCursorKey.key(fromHex: String(repeating: "ab", count: 32)) == [UInt8](repeating: 0xAB, count: 32))
        #expect(SyncCursorKey.key(fromHex: String(repeating: "ab", count: 31)) == nil)
        #expect(SyncCursorKey.key(fromHex: String(repeating: "zz", count: 32)) == nil)
        #expect(SyncCursorKey.key(fromHex: "") == nil)
    }

    @Test func aForgedCursorIs400ThroughTheApplication() throws {
        let h = try Harness()
        try h.create("alice", #"{"title":"a"}"#)
        let unkeyed = "1." + SHA256.hexPrefix(of: Array("todo-fcgi sync cursor\u{0}alice\u{0}1".utf8), count: 16)
        let forged = try h.send("GET", "/api/alice/tasks/changes?since=\(Base64URL.encode(Array(unkeyed.utf8)))", as: "alice")
        #expect(forged.status == 400 && forged.isError("invalid_cursor"))
        let other = try SyncCursor(key: [UInt8](repeating: 1, count: SyncCursorKey.byteCount))
        let wrongKey = other.encode(SyncPosition(change: 1, floor: 1), userID: "alice")
        #expect(try h.send("GET", "/api/alice/tasks/changes?since=\(wrongKey)", as: "alice").isError("invalid_cursor"))
    }

    @Test func anIdempotencyKeyPastItsLifetimeNoLongerReplays() throws {
        let h = try Harness()
        let first = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#, idempotencyKey: "k1")
        #expect(first.status == 201)
        h.clock.advance(by: IdempotencyKey.retentionMilliseconds - 1)
        let replay = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#, idempotencyKey: "k1")
        #expect(replay.status == 201 && replay.response.body == first.response.body)
        h.clock.advance(by: 2)
        // Expired: a new task, and then that one replays; another body is no longer refused.
        let fresh = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#, idempotencyKey: "k1")
        #expect(fresh.status == 201 && fresh.object?["id"] != first.object?["id"])
        let again = try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"a"}"#, idempotencyKey: "k1")
        #expect(again.response.body == fresh.response.body)
        h.clock.advance(by: IdempotencyKey.retentionMilliseconds + 1)
        #expect(try h.send("POST", "/api/alice/tasks", as: "alice", json: #"{"title":"b"}"#, idempotencyKey: "k1").status == 201)
    }

    @Test func mergeThatChangesNothingIsUnchangedButIfMatchStillApplies() throws {
        let h = try Harness()
        let id = try h.create("alice", #"{"title":"t","tags":["a"]}"#)
        let reply = try h.send("GET", "/api/alice/tasks/\(id)", as: "alice")
        let before = try #require(reply.object)
        var same = TaskChanges()
        same.title = "t"
        same.tags = ["a"]
        let stored = try #require(try h.store.find(userID: "alice", id: id) { StoredTask($0) })
        guard case .unchanged = TaskUpdate(.merge(same)).decide(current: stored, now: h.clock.milliseconds + 5) else {
            Issue.record("an unchanged merge was a write")
            return
        }
        guard case .preconditionFailed = TaskUpdate(.merge(same), ifMatch: "\"9\"").decide(current: stored, now: 0) else {
            Issue.record("If-Match was not checked before noticing nothing changes")
            return
        }
        guard case .write(let write) = TaskUpdate(.replace(same)).decide(current: stored, now: 0) else {
            Issue.record("PUT must always write")
            return
        }
        // The clock is behind the stored time: updated_at still moves forward.
        #expect(write.updatedAt == stored.updatedAt + 1)
        #expect(before["version"] == .number(1))
    }

    @Test func aCursorOlderThanTheTombstonesKeptIs410() throws {
        let h = try Harness()
        let first = try h.create("alice", #"{"title":"a"}"#)
        let old = try #require(try h.send("GET", "/api/alice/tasks/changes", as: "alice").object?["cursor"]?.stringValue)
        #expect(try h.send("DELETE", "/api/alice/tasks/\(first)", as: "alice").status == 204)
        // 31 days later another deletion purges the first tombstone: the old cursor can no
        // longer be answered fully.
        h.clock.advance(by: 31 * 86_400_000)
        let second = try h.create("alice", #"{"title":"b"}"#)
        #expect(try h.send("DELETE", "/api/alice/tasks/\(second)", as: "alice").status == 204)
        let expired = try h.send("GET", "/api/alice/tasks/changes?since=\(old)", as: "alice")
        #expect(expired.status == 410 && expired.isError("cursor_expired"))
        // From scratch it works, and its cursor is good.
        let fresh = try #require(try h.send("GET", "/api/alice/tasks/changes", as: "alice").object?["cursor"]?.stringValue)
        #expect(try h.send("GET", "/api/alice/tasks/changes?since=\(fresh)", as: "alice").status == 200)
    }

    /// A first sync that pages through tasks older than the tombstones purged: every cursor it
    /// is given works until the last page (before, the second page was 410 and the client
    /// started over, for ever).
    @Test func pagingPastPurgedTombstonesFinishes() throws {
        let h = try Harness()
        var ids: [Int64] = []
        for index in 0..<7 { ids.append(try h.create("alice", #"{"title":"t\#(index)"}"#)) }
        let doomed = try h.create("alice", #"{"title":"gone"}"#)
        #expect(try h.send("DELETE", "/api/alice/tasks/\(doomed)", as: "alice").status == 204)
        h.clock.advance(by: 31 * 86_400_000)
        let late = try h.create("alice", #"{"title":"late"}"#)
        #expect(try h.send("DELETE", "/api/alice/tasks/\(late)", as: "alice").status == 204)  // purges the first tombstone
        var seen: [Int64] = []
        var cursor: String?
        for _ in 0..<10 {
            let target = "/api/alice/tasks/changes?limit=2" + (cursor.map { "&since=\($0)" } ?? "")
            let page = try h.send("GET", target, as: "alice")
            try #require(page.status == 200, "\(page.text)")
            let object = try #require(page.object)
            guard case .array(let tasks)? = object["tasks"] else { Issue.record("no tasks"); break }
            for task in tasks { if case .number(let id)? = task.objectValue?["id"] { seen.append(Int64(id)) } }
            cursor = object["cursor"]?.stringValue
            if object["has_more"] != .bool(true) { break }
        }
        #expect(seen == ids)
        #expect(try h.send("GET", "/api/alice/tasks/changes?since=\(try #require(cursor))", as: "alice").status == 200)
    }
}

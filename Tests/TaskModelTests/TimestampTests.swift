import Testing
@testable import TaskModel

@Suite("Timestamps")
struct TimestampTests {
    @Test(arguments: [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_123, "2000-02-29T00:00:00.123Z"),
        (1_795_341_625_279, "2026-11-22T10:00:25.279Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ] as [(Int64, String)])
    func formatsRFC3339Milliseconds(_ millis: Int64, _ expected: String) {
        #expect(Timestamp.format(milliseconds: millis) == expected)
    }
}

@Suite("Timestamps written in place")
struct TimestampWriteTests {
    @Test func writesTheSameTextAsAppendOverAnyPreviousBytes() {
        var buffer = [UInt8](repeating: UInt8(ascii: "#"), count: 30)
        let written = buffer.withUnsafeMutableBufferPointer { Timestamp.write(milliseconds: 951_782_400_123, into: $0) }
        #expect(written == Timestamp.byteCount)
        #expect(String(decoding: buffer[..<written], as: UTF8.self) == "2000-02-29T00:00:00.123Z")
        #expect(buffer[written...].allSatisfy { $0 == UInt8(ascii: "#") })
        let date = buffer.withUnsafeMutableBufferPointer { Timestamp.writeDate(milliseconds: 951_782_400_123, into: $0) }
        #expect(String(decoding: buffer[..<date], as: UTF8.self) == "2000-02-29")
    }

    @Test func aDueDateWritesItsOwnForm() {
        var buffer = [UInt8](repeating: 0, count: Timestamp.byteCount)
        for due in [TaskDueDate(milliseconds: 1_795_341_625_279, isAllDay: false), TaskDueDate(milliseconds: 1_795_305_600_000, isAllDay: true)] {
            let count = buffer.withUnsafeMutableBufferPointer { due.write(into: $0) }
            #expect(String(decoding: buffer[..<count], as: UTF8.self) == due.text)
        }
    }
}

@Suite("Changed columns")
struct ChangedColumnsTests {
    @Test func anUpdateWritesOnlyTheColumnsWhoseStoredValuesChange() {
        var before = TaskState(title: "Buy milk")
        before.tags = ["home"]
        var completed = before
        completed.completed = true
        #expect(completed.changedColumns(since: before) == [.completed])
        var retitled = before
        retitled.title = "Buy oat milk"
        #expect(retitled.changedColumns(since: before) == [.title, .titleKey, .searchText])
        var recased = before
        recased.title = "buy milk"
        #expect(recased.changedColumns(since: before) == [.title])  // the keys fold case
        var due = before
        due.dueDate = TaskDueDate(milliseconds: 1_795_305_600_000, isAllDay: true)
        #expect(due.changedColumns(since: before) == [.dueDate, .dueAllDay])
        #expect(before.changedColumns(since: before).isEmpty)
        // Every state column is covered: all differ from an empty state's.
        var full = before
        full.description = "2%"
        full.completed = true
        full.priority = .high
        full.dueDate = TaskDueDate(milliseconds: 1_795_341_625_279, isAllDay: true)
        full.recurrence = TaskRecurrence(frequency: .weekly, interval: 2)
        full.uid = "u"
        full.resourceName = "u.ics"
        full.calendarData = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        #expect(Set(full.changedColumns(since: TaskState(title: "x"))) == Set(TaskColumn.state))
    }
}

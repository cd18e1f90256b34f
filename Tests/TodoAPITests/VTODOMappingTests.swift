import ICalendar
import MemoryStorage
import TaskModel
import Testing
@testable import TodoAPI

private func object(_ todoLines: String, around calendarLines: String = "") -> [UInt8] {
    Array(("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + calendarLines + "BEGIN:VTODO\r\n" + todoLines
        + "END:VTODO\r\nEND:VCALENDAR\r\n").utf8)
}

private func refusal(_ body: [UInt8]) -> CalendarObjectError.Reason? {
    do {
        _ = try VTODOReader.read(body)
        return nil
    } catch {
        return error.reason
    }
}

/// Writes `state` through a memory store and renders it as CalDAV clients read it.
private func written(_ state: TaskState, completing: Bool = false) throws -> (text: String, task: StoredTask) {
    let store = try MemoryTaskBackend().makeStore()
    var task = try store.create(userID: "u", state: state, now: 1_800_000_000_000)
    if completing, case .updated(let done) = try store.update(userID: "u", id: task.id, update: TaskUpdate(.complete(true)),
                                                              now: 1_800_000_060_000) {
        task = done
    }
    return (String(decoding: VTODOWriter.write(task.row), as: UTF8.self), task)
}

@Suite("CalDAV: VTODO to task")
struct VTODOReaderTests {
    @Test func mapsEveryFieldOfTheTable() throws {
        let state = try VTODOReader.read(object("""
            UID:abc@phone\r
            SUMMARY:  Buy milk\\, eggs  \r
            DESCRIPTION:two lines\\nsecond\r
            PRIORITY:2\r
            CATEGORIES:home,errands\r
            CATEGORIES:shop\r
            DUE;TZID=Europe/Berlin:20261208T090000\r
            RRULE:FREQ=WEEKLY;INTERVAL=2\r
            STATUS:NEEDS-ACTION\r
            DTSTAMP:20261201T000000Z\r
            CREATED:20200101T000000Z\r

            """))
        #expect(state.uid == "abc@phone" && state.title == "Buy milk, eggs" && state.description == "two lines\nsecond")
        #expect(state.priority == .high && state.tags == ["home", "errands", "shop"] && !state.completed)
        #expect(state.dueDate == .instant(1_796_716_800_000))
        #expect(state.recurrence == TaskRecurrence(frequency: .weekly, interval: 2))
        // What was mapped and is spelled as sent stays (STATUS, PRIORITY, DUE); CREATED and DTSTAMP do not.
        let kept = try #require(state.calendarData)
        #expect(kept.contains("PRIORITY:2") && kept.contains("DUE;TZID=Europe/Berlin:20261208T090000") && !kept.contains("CREATED"))
        #expect(!kept.contains("RRULE") && !kept.contains("SUMMARY") && !kept.contains("CATEGORIES"))
    }

    @Test func prioritiesMapInThreeBands() throws {
        for (value, expected) in [("1", TaskPriority.high), ("4", .high), ("5", .medium), ("0", .medium), ("6", .low), ("9", .low),
                                  ("x", .medium)] {
            #expect(try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nPRIORITY:\(value)\r\n")).priority == expected, "\(value)")
        }
    }

    @Test func completionFromStatusOrCompletedWithItsTime() throws {
        for line in ["STATUS:COMPLETED\r\n", "STATUS:CANCELLED\r\n", "COMPLETED:20261201T100000Z\r\n"] {
            #expect(try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\n" + line)).completed, "\(line)")
        }
        let done = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nSTATUS:COMPLETED\r\nCOMPLETED:20261201T100000Z\r\n"))
        #expect(done.reportedCompletedAt == 1_796_119_200_000)
        #expect(try !VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nSTATUS:IN-PROCESS\r\n")).completed)
    }

    @Test func dueDatesOfEveryForm() throws {
        let day = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nDUE;VALUE=DATE:20261224\r\n")).dueDate
        #expect(day == .day(startingAt: 1_798_070_400_000))
        let floating = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nDUE:20261224T180000\r\n")).dueDate
        #expect(floating == .instant(1_798_135_200_000))
        let utc = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nDUE:20261224T180000Z\r\n")).dueDate
        #expect(utc == floating)
        let outlook = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nDUE;TZID=Custom:20261224T180000\r\n", around: """
            BEGIN:VTIMEZONE\r
            TZID:Custom\r
            BEGIN:STANDARD\r
            DTSTART:16010101T000000\r
            TZOFFSETFROM:-0500\r
            TZOFFSETTO:-0500\r
            END:STANDARD\r
            END:VTIMEZONE\r

            """))
        #expect(outlook.dueDate == .instant(1_798_153_200_000))
        #expect(outlook.calendarData?.contains("TZID:Custom") == true)
    }

    @Test func aRuleTheModelCannotHoldIsKeptAndTheRecurrenceIsNull() throws {
        let byDay = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nDUE:20261224T180000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n"))
        #expect(byDay.recurrence == nil && byDay.calendarData?.contains("RRULE:FREQ=WEEKLY;BYDAY=MO,WE") == true)
        // A rule with no due date to repeat from: kept too.
        let undated = try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\nRRULE:FREQ=DAILY\r\n"))
        #expect(undated.recurrence == nil && undated.calendarData?.contains("RRULE:FREQ=DAILY") == true)
    }

    @Test func everythingElseIsKeptVerbatim() throws {
        let state = try VTODOReader.read(object("""
            UID:1\r
            SUMMARY:t\r
            DTSTART:20261201T090000Z\r
            PERCENT-COMPLETE:40\r
            X-APPLE-SORT-ORDER;X-P="a,b":123\r
            RELATED-TO;RELTYPE=PARENT:parent-uid\r
            BEGIN:VALARM\r
            ACTION:DISPLAY\r
            TRIGGER;RELATED=END:-PT15M\r
            END:VALARM\r

            """, around: "X-WR-CALNAME:Mine\r\n"))
        let kept = try #require(state.calendarData)
        for line in ["DTSTART:20261201T090000Z", "PERCENT-COMPLETE:40", "X-APPLE-SORT-ORDER;X-P=\"a,b\":123",
                     "RELATED-TO;RELTYPE=PARENT:parent-uid", "TRIGGER;RELATED=END:-PT15M", "X-WR-CALNAME:Mine"] {
            #expect(kept.contains(line + "\r\n"), "\(line)")
        }
        #expect(try VTODOReader.read(object("UID:1\r\nSUMMARY:t\r\n")).calendarData == nil)
    }

    @Test(arguments: [
        ("BEGIN:VTODO\r\nUID:1\r\nSUMMARY:t\r\nEND:VTODO\r\n", CalendarObjectError.Reason.invalidData),
        ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", .invalidData),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", .unsupportedComponent),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:a\r\nEND:VTODO\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
         .unsupportedComponent),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:a\r\nEND:VTODO\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:b\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
         .invalidData),
        ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", .invalidData),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:a\r\n", .invalidData),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:no uid\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:   \r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:t\r\nDUE:20261301\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:t\r\nDUE:19691231T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
        ("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:t\r\nCATEGORIES:a,A\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", .invalidObject),
    ] as [(String, CalendarObjectError.Reason)])
    func refusesWhatIsNotOneValidTask(_ text: String, _ reason: CalendarObjectError.Reason) {
        #expect(refusal(Array(text.utf8)) == reason)
    }

    @Test func refusesTooLongTitlesAndTooManyTagsAsTheAPIDoes() {
        #expect(refusal(object("UID:1\r\nSUMMARY:\(String(repeating: "a", count: 201))\r\n")) == .invalidObject)
        let tags = (0...TaskTags.maximumCount).map { "t\($0)" }.joined(separator: ",")
        #expect(refusal(object("UID:1\r\nSUMMARY:t\r\nCATEGORIES:\(tags)\r\n")) == .invalidObject)
        #expect(refusal(object("UID:\(String(repeating: "u", count: 256))\r\nSUMMARY:t\r\n")) == .invalidObject)
    }

    @Test func refusesBytesThatAreNotUTF8() {
        let body = Array("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nSUMMARY:".utf8) + [0xFF]
            + Array("\r\nEND:VTODO\r\nEND:VCALENDAR\r\n".utf8)
        #expect(refusal(body) == .notUTF8)
    }
}

@Suite("CalDAV: task to VTODO")
struct VTODOWriterTests {
    @Test func writesTheTasksFieldsWithTheIdentity() throws {
        var state = TaskState(title: "Pay; rent, now")
        state.description = "line\nnext"
        state.priority = .low
        state.tags = ["home", "a,b"]
        state.dueDate = .day(startingAt: 1_798_070_400_000)
        state.recurrence = TaskRecurrence(frequency: .monthly, interval: 3)
        let (text, task) = try written(state)
        for line in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:\(VTODOWriter.productID)", "BEGIN:VTODO", "UID:\(task.state.uid)",
                     "SUMMARY:Pay\\; rent\\, now", "DESCRIPTION:line\\nnext", "STATUS:NEEDS-ACTION", "PRIORITY:9",
                     "CATEGORIES:home,a\\,b", "DUE;VALUE=DATE:20261224", "RRULE:FREQ=MONTHLY;INTERVAL=3",
                     "CREATED:20270115T080000Z", "LAST-MODIFIED:20270115T080000Z", "DTSTAMP:20270115T080000Z"] {
            #expect(text.contains(line + "\r\n"), "\(line)")
        }
        // Read back, it is the same task.
        var back = try VTODOReader.read(Array(text.utf8))
        back.calendarData = nil
        var expected = task.state
        expected.resourceName = ""
        #expect(back == expected)
    }

    /// A task without kept text is written straight from its row; the bytes must be the ones
    /// its components give, for every field and every folding.
    @Test func theStreamedObjectIsTheComponentsByteForByte() throws {
        var states: [(TaskState, Bool)] = []
        var plain = TaskState(title: "plain")
        states.append((plain, false))
        plain.description = "a; b, c \\ d\nline\r\nCRLF\rCR"
        plain.priority = .high
        plain.tags = ["a,b", "ünï", "x;y"]
        states.append((plain, false))
        var long = TaskState(title: String(repeating: "é", count: 80) + String(repeating: "z", count: 70))
        long.priority = .low
        long.dueDate = .instant(1_800_000_000_123)
        states.append((long, true))
        var recurring = TaskState(title: "weekly")
        recurring.dueDate = .day(startingAt: 1_798_070_400_000)
        recurring.recurrence = TaskRecurrence(frequency: .monthly, interval: 2)
        states.append((recurring, false))
        states.append((recurring, true))
        for (state, completing) in states {
            let (_, task) = try written(state, completing: completing)
            let streamed = VTODOWriter.write(task.row)
            let viaComponents = ICalWriter.write(VTODOWriter.calendar(task.row).calendar)
            #expect(streamed == viaComponents, "\(String(decoding: streamed, as: UTF8.self))\n≠\n\(String(decoding: viaComponents, as: UTF8.self))")
        }
    }

    @Test func aCompletedOccurrenceWhoseSeriesWentOnHasNoRule() throws {
        var state = TaskState(title: "weekly")
        state.dueDate = .instant(1_800_000_000_000)
        state.recurrence = TaskRecurrence(frequency: .weekly)
        let (text, task) = try written(state, completing: true)
        #expect(task.nextTaskID != nil && !text.contains("RRULE") && text.contains("STATUS:COMPLETED\r\n"))
        #expect(text.contains("COMPLETED:20270115T080100Z\r\n"))
    }

    @Test func theClientsSpellingStaysWhileItStillSaysWhatTheTaskSays() throws {
        let sent = try VTODOReader.read(object("""
            UID:1\r
            SUMMARY:t\r
            PRIORITY:3\r
            STATUS:IN-PROCESS\r
            DUE;TZID=Europe/Berlin:20261208T090000\r
            X-KEEP:yes\r

            """))
        let (same, _) = try written(sent)
        #expect(same.contains("PRIORITY:3\r\n") && same.contains("STATUS:IN-PROCESS\r\n"))
        #expect(same.contains("DUE;TZID=Europe/Berlin:20261208T090000\r\n") && same.contains("X-KEEP:yes\r\n"))
        // Changed through the API: the task's own values, the rest still kept.
        var changed = sent
        changed.priority = .low
        changed.dueDate = .instant(1_800_000_000_000)
        let (rewritten, _) = try written(changed, completing: true)
        #expect(rewritten.contains("PRIORITY:9\r\n") && rewritten.contains("STATUS:COMPLETED\r\n"))
        #expect(rewritten.contains("DUE:20270115T080000Z\r\n") && !rewritten.contains("TZID=Europe/Berlin"))
        #expect(rewritten.contains("X-KEEP:yes\r\n"))
    }
}

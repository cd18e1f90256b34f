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

    /// STATUS is read in any ASCII case, with spaces around it; anything else names no state.
    @Test(arguments: [("COMPLETED", true), ("completed", true), (" Cancelled\t", true), ("NEEDS-ACTION", false),
                      ("in-process", false), ("COMPLETEDX", nil), ("", nil), ("COMPLETÉD", nil), ("NEEDS ACTION", nil)] as [(String, Bool?)])
    func statusIsReadInAnyCase(value: String, done: Bool?) {
        #expect(VTODOFields.statusIsDone(value) == done, "\(value)")
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

    /// A task an app made keeps its text; its object is still written from the row, the kept
    /// lines copied where the components put them: the same bytes, changed or not through the API.
    @Test func theMergedObjectIsTheComponentsByteForByte() throws {
        let zone = """
            BEGIN:VTIMEZONE\r
            TZID:Custom/Nowhere\r
            BEGIN:STANDARD\r
            DTSTART:19701025T030000\r
            RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
            TZOFFSETFROM:+0200\r
            TZOFFSETTO:+0100\r
            END:STANDARD\r
            BEGIN:DAYLIGHT\r
            DTSTART:19700329T020000\r
            RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
            TZOFFSETFROM:+0100\r
            TZOFFSETTO:+0200\r
            END:DAYLIGHT\r
            END:VTIMEZONE\r

            """
        let bodies = [
            object("UID:a\r\nSUMMARY:plain\r\nX-ONE:1\r\n"),
            object("""
                UID:b@phone\r
                SUMMARY:rich\r
                DESCRIPTION:note\r
                PRIORITY:2\r
                STATUS:IN-PROCESS\r
                CATEGORIES:home\r
                DUE;TZID=Custom/Nowhere:20261208T090000\r
                RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r
                X-APPLE-SORT-ORDER:7\r
                X-LONG;X-PARAM="a;b":\(String(repeating: "long é value ", count: 12))\r
                BEGIN:VALARM\r
                TRIGGER;RELATED=END:-PT15M\r
                ACTION:DISPLAY\r
                DESCRIPTION:alarm\r
                END:VALARM\r
                X-AFTER-ALARM:kept\r

                """, around: "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Phone\r\n" + zone),
            object("UID:c\r\nSUMMARY:zoned\r\nDUE;TZID=Europe/Berlin:20270301T080000\r\nSTATUS:COMPLETED\r\nPRIORITY:0\r\n",
                   around: zone.replacingOccurrences(of: "Custom/Nowhere", with: "Europe/Berlin")),
            object("UID:d\r\nSUMMARY:daily\r\nDUE;VALUE=DATE:20270110\r\nRRULE:FREQ=DAILY\r\nX-X:1\r\n"),
        ]
        for body in bodies {
            let sent = try VTODOReader.read(body)
            #expect(sent.calendarData != nil)
            var changed = sent
            changed.priority = .low
            changed.dueDate = .instant(1_800_000_000_000)
            changed.tags = ["new", "tag,with;marks"]
            for (state, completing) in [(sent, false), (sent, true), (changed, false), (changed, true)] {
                let (_, task) = try written(state, completing: completing)
                let streamed = VTODOWriter.write(task.row)
                let viaComponents = ICalWriter.write(VTODOWriter.calendar(task.row).calendar)
                #expect(streamed == viaComponents, "\(String(decoding: streamed, as: UTF8.self))\n≠\n\(String(decoding: viaComponents, as: UTF8.self))")
            }
        }
    }

    /// Kept text this server did not write in its own shape (a row changed around the service)
    /// is read through components, as before: the line scan refuses it rather than guess.
    @Test func keptTextOfAnotherShapeGoesThroughComponents() throws {
        let shapes = [
            "BEGIN:VCALENDAR\nBEGIN:VTODO\nX-A:1\nEND:VTODO\nEND:VCALENDAR\n",  // LF only
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nx-lower:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-A:1\r\nEND:VTODO\r\nX-CAL:after\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-A:1\r\nEND:VTODO\r\nBEGIN:VTIMEZONE\r\nTZID:Z\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-A:1\r\nEND:VALARM\r\nEND:VCALENDAR\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-A:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\nX-TRAILING:1\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX-A:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "not iCalendar at all",
            "",
        ]
        for text in shapes {
            var state = TaskState(title: "odd")
            state.calendarData = text
            let (_, task) = try written(state)
            let streamed = VTODOWriter.write(task.row)
            let viaComponents = ICalWriter.write(VTODOWriter.calendar(task.row).calendar)
            #expect(streamed == viaComponents, "\(text.debugDescription)")
            task.row.withCalendarData { #expect(KeptCalendarOutline($0) == nil, "\(text.debugDescription)") }
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

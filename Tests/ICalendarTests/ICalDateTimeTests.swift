import Clocks
import ICalendar
import Testing

private func seconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Int64 {
    Int64(CivilDate.daysSinceEpoch(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60)
}

@Suite("iCalendar dates and times")
struct ICalDateTimeTests {
    @Test func readsEachForm() throws {
        let date = try #require(ICalDateTime(ICalProperty(name: "DUE", parameters: [ICalParameter(name: "VALUE", values: ["DATE"])],
                                                          value: "20261208")))
        #expect(date.form == .date && date.localSeconds == seconds(2026, 12, 8))
        let bare = try #require(ICalDateTime(ICalProperty(name: "DUE", value: "20261208")))
        #expect(bare.form == .date)
        let utc = try #require(ICalDateTime(ICalProperty(name: "DUE", value: "20261208T093000Z")))
        #expect(utc.form == .utc && utc.localSeconds == seconds(2026, 12, 8, 9, 30))
        let floating = try #require(ICalDateTime(ICalProperty(name: "DUE", value: "20261208T093000")))
        #expect(floating.form == .floating)
        let zoned = try #require(ICalDateTime(ICalProperty(name: "DUE", parameters: [ICalParameter(name: "TZID", values: ["Europe/Berlin"])],
                                                           value: "20261208T093000")))
        #expect(zoned.form == .zoned("Europe/Berlin"))
        #expect(utc.text == "20261208T093000Z" && floating.text == "20261208T093000" && date.text == "20261208")
    }

    @Test(arguments: ["", "2026120", "20261308", "20260230", "20261208T", "20261208T250000", "20261208T096000",
                      "20261208T093000z", "20261208T093000ZZ", "20261208X093000", "2026-12-08", "+0261208"])
    func refusesWhatIsNotADateOrDateTime(_ value: String) {
        #expect(ICalDateTime(ICalProperty(name: "DUE", value: value)) == nil)
    }

    /// Written in one fixed-width step for four-digit years; read back as the same moment; a
    /// moment before 1970 splits into the day before and a second counted from its midnight.
    @Test func writesEachFormAndReadsItBack() throws {
        for moment in [seconds(1970, 1, 1), seconds(1969, 12, 31, 23, 59) + 59, seconds(2026, 12, 8, 9, 30) + 7, seconds(1, 1, 1),
                       seconds(9999, 12, 31, 23, 59) + 59, seconds(2024, 2, 29, 12)] {
            for form in [ICalDateTime.Form.utc, .floating, .date] {
                let value = ICalDateTime(form: form, localSeconds: form == .date ? moment - Int64(CivilDate.split(secondsSinceEpoch: moment).secondOfDay) : moment)
                let read = try #require(ICalDateTime(ICalProperty(name: "DUE", value: value.text)), "\(value.text)")
                #expect(read == value, "\(value.text)")
            }
        }
        #expect(ICalDateTime(form: .utc, localSeconds: -1).text == "19691231T235959Z")
        #expect(ICalDateTime(form: .date, localSeconds: seconds(33, 3, 4)).text == "00330304")
        // Past four digits the year is written as it comes (no task has one; the text says so).
        #expect(ICalDateTime(form: .utc, localSeconds: seconds(10000, 1, 2, 3, 4)).text == "100000102T030400Z")
        #expect(ICalDateTime(form: .date, localSeconds: seconds(-1, 12, 31)).text == "-11231")
    }

    @Test func splitsAnInstantIntoDayAndSecond() {
        #expect(CivilDate.split(secondsSinceEpoch: 0) == (0, 0))
        #expect(CivilDate.split(secondsSinceEpoch: 86_399) == (0, 86_399))
        #expect(CivilDate.split(secondsSinceEpoch: 86_400) == (1, 0))
        #expect(CivilDate.split(secondsSinceEpoch: -1) == (-1, 86_399))
        #expect(CivilDate.split(secondsSinceEpoch: -86_400) == (-1, 0))
        #expect(CivilDate.split(secondsSinceEpoch: -86_401) == (-2, 86_399))
    }

    @Test func refusesATimeMarkedAsADate() {
        #expect(ICalDateTime(ICalProperty(name: "DUE", parameters: [ICalParameter(name: "VALUE", values: ["DATE"])],
                                          value: "20261208T093000Z")) == nil)
    }
}

@Suite("Time zones")
struct ZoneTests {
    let berlin = ZoneDirectory.system.zone(named: "Europe/Berlin")

    @Test func convertsWallClockTimesThroughTzdata() throws {
        let berlin = try #require(self.berlin)
        #expect(berlin.utcSeconds(local: seconds(2026, 12, 8, 9)) == seconds(2026, 12, 8, 8))
        #expect(berlin.utcSeconds(local: seconds(2026, 7, 1, 9)) == seconds(2026, 7, 1, 7))
        let newYork = try #require(ZoneDirectory.system.zone(named: "America/New_York"))
        #expect(newYork.utcSeconds(local: seconds(2026, 1, 15, 12)) == seconds(2026, 1, 15, 17))
        let sydney = try #require(ZoneDirectory.system.zone(named: "Australia/Sydney"))
        #expect(sydney.utcSeconds(local: seconds(2026, 1, 15, 12)) == seconds(2026, 1, 15, 1))
        #expect(sydney.utcSeconds(local: seconds(2026, 7, 15, 12)) == seconds(2026, 7, 15, 2))
    }

    @Test func yearsPastTheListedTransitionsFollowTheFooterRule() throws {
        let berlin = try #require(self.berlin)
        #expect(berlin.utcSeconds(local: seconds(2101, 7, 1, 9)) == seconds(2101, 7, 1, 7))
        #expect(berlin.utcSeconds(local: seconds(2101, 12, 1, 9)) == seconds(2101, 12, 1, 8))
    }

    @Test func repeatedTimesAreTheFirstAndSkippedTimesUseTheOffsetBefore() throws {
        let berlin = try #require(self.berlin)
        // 2026-10-25 03:00 CEST goes back to 02:00 CET: 02:30 happens twice; the first is 00:30 UTC.
        #expect(berlin.utcSeconds(local: seconds(2026, 10, 25, 2, 30)) == seconds(2026, 10, 25, 0, 30))
        // 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 never happens; read in CET it is 01:30 UTC.
        #expect(berlin.utcSeconds(local: seconds(2026, 3, 29, 2, 30)) == seconds(2026, 3, 29, 1, 30))
    }

    @Test(arguments: ["../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin", ".hidden", "",
                      "Europe/Berlin\u{0}", "No/Such_Zone", String(repeating: "A", count: 65)])
    func refusesNamesThatAreNotZones(_ name: String) {
        #expect(ZoneDirectory.system.zone(named: name) == nil)
    }

    @Test func posixRulesOfBothHemispheres() throws {
        let north = try #require(PosixZoneRule("CET-1CEST,M3.5.0,M10.5.0/3"))
        #expect(north.offset(atUTC: seconds(2030, 3, 31, 0, 59)) == 3600)
        #expect(north.offset(atUTC: seconds(2030, 3, 31, 1)) == 7200)
        #expect(north.offset(atUTC: seconds(2030, 10, 27, 0, 59)) == 7200)
        #expect(north.offset(atUTC: seconds(2030, 10, 27, 1)) == 3600)
        let south = try #require(PosixZoneRule("AEST-10AEDT,M10.1.0,M4.1.0/3"))
        #expect(south.offset(atUTC: seconds(2030, 1, 1)) == 11 * 3600)
        #expect(south.offset(atUTC: seconds(2030, 6, 1)) == 10 * 3600)
        let fixed = try #require(PosixZoneRule("<+0530>-5:30"))
        #expect(fixed.offset(atUTC: 0) == 19_800)
        for bad in ["", "C", "CET", "CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,M10.5.0/200"] {
            #expect(PosixZoneRule(bad) == nil, "\(bad)")
        }
    }

    @Test func aVTimezoneDefinesZonesTzdataDoesNotKnow() throws {
        let text = """
        BEGIN:VCALENDAR
        BEGIN:VTIMEZONE
        TZID:W. Europe Standard Time
        BEGIN:STANDARD
        DTSTART:16010101T030000
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
        END:STANDARD
        BEGIN:DAYLIGHT
        DTSTART:16010101T020000
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
        END:DAYLIGHT
        END:VTIMEZONE
        END:VCALENDAR

        """
        let calendar = try ICalReader.read(Array(text.utf8))[0]
        let zones = CalendarZones(calendar: calendar)
        let outlook = try #require(zones.zone("W. Europe Standard Time"))
        #expect(outlook.utcSeconds(local: seconds(2026, 12, 8, 9)) == seconds(2026, 12, 8, 8))
        #expect(outlook.utcSeconds(local: seconds(2026, 7, 1, 9)) == seconds(2026, 7, 1, 7))
        #expect(zones.zone("Europe/Berlin") != nil)
        #expect(zones.zone("Mars/Olympus") == nil)
    }
}

import Testing
@testable import TodoServer

/// `copy`'s progress: counts, rate and time left; rewritten in place on a terminal, a plain line
/// every few seconds elsewhere, and nothing between updates.
@Suite("Progress line")
struct ProgressLineTests {
    @Test func describesCountsRateAndTimeLeft() {
        #expect(ProgressLine.describe(label: "copy", unit: "tasks", done: 120_000, total: 329_800, elapsedNanoseconds: 3_000_000_000)
                == "copy: 120,000 / 329,800 tasks (36%), 40,000 tasks/s, 6 s left")
        #expect(ProgressLine.describe(label: "copy", unit: "tasks", done: 0, total: 0, elapsedNanoseconds: 0) == "copy: 0 / 0 tasks")
        #expect(ProgressLine.describe(label: "copy", unit: "tasks", done: 7, total: 7, elapsedNanoseconds: 1_000_000_000)
                == "copy: 7 / 7 tasks (100%), 7 tasks/s")
        #expect(ProgressLine.grouped(1_000_000) == "1,000,000" && ProgressLine.grouped(999) == "999" && ProgressLine.grouped(-1234) == "-1,234")
    }

    @Test func withoutEstimatesTheTimeElapsedInsteadOfARate() {
        // A migration's schema versions differ in size by orders of magnitude: no rate, no time left.
        #expect(ProgressLine.describe(label: "migrate", unit: "schema versions", done: 1, total: 3, elapsedNanoseconds: 12_400_000_000,
                                      estimates: false) == "migrate: 1 / 3 schema versions (33%), 12 s elapsed")
        #expect(ProgressLine.describe(label: "migrate", unit: "schema versions", done: 3, total: 3, elapsedNanoseconds: 0,
                                      finished: true, estimates: false) == "migrate: 3 / 3 schema versions (100%), 0 s elapsed")
    }

    @Test func elsewhereALineEveryFewSecondsAndTheLastOneAlways() {
        var clock: UInt64 = 0
        var written: [String] = []
        let progress = ProgressLine(label: "copy", unit: "tasks", onTerminal: false, now: { clock }, write: { written.append($0) })
        for step in 1...20 {
            clock = UInt64(step) * 1_000_000_000
            progress.update(done: step * 1000, total: 20_000)
        }
        #expect(written.count == 4, "\(written)")  // at 5, 10, 15 and 20 s
        #expect(written.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })
        progress.finish(done: 20_000, total: 20_000)
        #expect(written.last == "copy: 20,000 / 20,000 tasks (100%), 1,000 tasks/s\n")
    }

    @Test func onATerminalOneLineRewrittenInPlace() {
        var clock: UInt64 = 0
        var written: [String] = []
        let progress = ProgressLine(label: "copy", unit: "tasks", onTerminal: true, now: { clock }, write: { written.append($0) })
        progress.update(done: 0, total: 10)
        for step in 1...10 {
            clock = UInt64(step) * 100_000_000
            progress.update(done: step, total: 10)
        }
        #expect(written.count == 6 && written.allSatisfy { $0.hasPrefix("\r\u{1B}[K") && !$0.contains("\n") }, "\(written)")
        progress.finish(done: 10, total: 10)
        #expect(written.suffix(2).joined().hasSuffix("tasks (100%), 10 tasks/s\n"))
    }

    @Test func aQuietCopyOrAnEmptyOneWritesNothing() {
        var written: [String] = []
        let progress = ProgressLine(label: "copy", unit: "tasks", onTerminal: false, now: { 0 }, write: { written.append($0) })
        progress.finish(done: 0, total: 0)
        #expect(written.isEmpty)
    }
}

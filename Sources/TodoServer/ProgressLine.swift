import Clocks

#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long operator command (`copy`, `backup`, `migrate`) on stderr, so stdout keeps only the final
/// summary that scripts parse. On a terminal: one line rewritten in place a few times a second;
/// otherwise (systemd, CI, a pipe): a plain line every few seconds.
final class ProgressLine {
    private let label: String
    private let unit: String
    private let estimates: Bool
    private let onTerminal: Bool
    private let write: (String) -> Void
    private let now: () -> UInt64
    private let started: UInt64
    private var lastShown: UInt64 = 0
    /// What the last `update` reported, shown or not.
    private var latest = (done: 0, total: Int64(0))
    private var shownAny = false

    /// Nanoseconds between updates on a terminal, and between lines elsewhere.
    static let terminalInterval: UInt64 = 200_000_000
    static let lineInterval: UInt64 = 5_000_000_000

    /// Progress of `label` counted in `unit`; `onTerminal` defaults to whether stderr is one.
    /// Without `estimates` (units of very different sizes, as a migration's schema versions) the
    /// line gives the time elapsed instead of a rate and the time left.
    init(label: String, unit: String, estimates: Bool = true, onTerminal: Bool = isatty(STDERR_FILENO) != 0,
         now: @escaping () -> UInt64 = MonotonicClock.nanoseconds,
         write: @escaping (String) -> Void = { text in
             var bytes = Array(text.utf8)
             _ = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
         }) {
        self.label = label
        self.unit = unit
        self.estimates = estimates
        self.onTerminal = onTerminal
        self.now = now
        self.write = write
        started = now()
    }

    /// Reports `done` of `total`, if it is time to.
    func update(done: Int, total: Int64) {
        latest = (done, total)
        let time = now()
        let interval = onTerminal ? Self.terminalInterval : Self.lineInterval
        guard time - lastShown >= interval || (!shownAny && done == 0 && onTerminal) else { return }
        lastShown = time
        shownAny = true
        show(done: done, total: total, at: time)
    }

    /// Reports what the last `update` said as the final count (see `finish(done:total:)`).
    func finish() {
        finish(done: latest.done, total: latest.total)
    }

    /// Reports the final count (always, once anything was shown), and ends the terminal line.
    func finish(done: Int, total: Int64) {
        guard shownAny else { return }
        show(done: done, total: total, at: now(), finished: true)
        if onTerminal { write("\n") }
    }

    private func show(done: Int, total: Int64, at time: UInt64, finished: Bool = false) {
        let text = Self.describe(label: label, unit: unit, done: done, total: total, elapsedNanoseconds: time - started,
                                 finished: finished, estimates: estimates)
        write(onTerminal ? "\r\u{1B}[K" + text : text + "\n")
    }

    /// `copy: 120,000 / 329,800 tasks (36%), 41,250 tasks/s, 4 s left`.
    /// A finished line has no time left (a backup may end below its estimate). Without
    /// `estimates`: `migrate: 1 / 3 schema versions (33%), 12 s elapsed`.
    static func describe(label: String, unit: String, done: Int, total: Int64, elapsedNanoseconds: UInt64,
                         finished: Bool = false, estimates: Bool = true) -> String {
        let seconds = Double(elapsedNanoseconds) / 1e9
        var text = "\(label): \(grouped(Int64(done))) / \(grouped(total)) \(unit)"
        if total > 0 { text += " (\(Int64(done) * 100 / total)%)" }
        if !estimates {
            return text + ", \(Int64(seconds.rounded(.down))) s elapsed"
        }
        if seconds >= 0.05, done > 0 {
            let rate = Double(done) / seconds
            text += ", \(grouped(Int64(rate))) \(unit)/s"
            if !finished, Int64(done) < total { text += ", \(Int64((Double(total - Int64(done)) / rate).rounded(.up))) s left" }
        }
        return text
    }

    /// `329800` as `329,800`.
    static func grouped(_ number: Int64) -> String {
        let digits = Array(String(number.magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return number < 0 ? "-" + out : out
    }
}

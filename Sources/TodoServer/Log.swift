import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Severity of a log line; lines below the configured level are dropped.
///
/// `notice` (syslog's "normal but significant") carries the lifecycle lines — serving, keys
/// loaded, SIGHUP, shutting down, stopped — so `notice` is the quiet level that still shows
/// what the service is doing, without the one `info` line per request.
enum LogLevel: Int, CaseIterable {
    case error = 0, warn, notice, info, debug

    init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { "\($0)" == name.lowercased() }) else { return nil }
        self = level
    }
}

/// Writes whole lines to stderr (the journal under systemd) with one write(2) each, so threads never interleave.
enum Log {
    private static let threshold = Atomic<Int>(LogLevel.info.rawValue)

    /// The level below which lines are dropped; changed at start-up and on SIGHUP.
    static var level: LogLevel {
        get { LogLevel(rawValue: threshold.load(ordering: .relaxed)) ?? .info }
        set { threshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Whether lines of `level` are written.
    static func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= threshold.load(ordering: .relaxed)
    }

    /// Writes `message` at `level`.
    @Sendable static func write(_ level: LogLevel, _ message: String) {
        guard enabled(level) else { return }
        var text = "todo-fcgi[\(getpid())] \(level): " + message + "\n"
        text.withUTF8 { bytes in
            _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count)
        }
    }

    /// An error line: always written.
    @Sendable static func error(_ message: String) {
        write(.error, message)
    }

    /// A lifecycle line (start, reload, stop).
    @Sendable static func notice(_ message: String) {
        write(.notice, message)
    }

    /// An informational line.
    @Sendable static func info(_ message: String) {
        write(.info, message)
    }
}

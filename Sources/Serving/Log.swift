import Locks
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Severity of a log line; lines below the configured level are dropped.
///
/// `notice` (syslog's "normal but significant") carries the lifecycle lines — serving, keys
/// loaded, SIGHUP, shutting down, stopped — so `notice` is the quiet level that still shows
/// what the service is doing, without the one `info` line per request.
public enum LogLevel: Int, CaseIterable, Sendable {
    case error = 0, warn, notice, info, debug

    /// The level named `name` (error, warn, notice, info, debug; any case).
    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { "\($0)" == name.lowercased() }) else { return nil }
        self = level
    }
}

/// Writes whole lines to stderr (the journal under systemd) with one write(2) each, so threads
/// never interleave.
///
/// Access-log lines (`access`) are the exception: one per request, they are gathered in memory
/// and written in batches (a full batch, a worker about to wait for work, the housekeeper's
/// tick, any other line, and shutdown flush them), so the request path makes no system call for
/// its log line. A line therefore reaches the journal up to half a second late under a steady
/// trickle, and a `kill -9` loses the lines not yet written (never more than one batch).
public enum Log {
    private static let threshold = Atomic<Int>(LogLevel.info.rawValue)
    /// This process's id, read once: the service never forks after starting.
    private static let processID = getpid()
    /// Access-log lines not yet written.
    private static let pendingAccessLines = Locked<[UInt8]>([])
    /// Held while a batch is taken and written, so batches reach stderr in the order taken; it
    /// counts the writes (a lock with real storage: the thread sanitizer misreads a `Void` one).
    private static let writing = Locked<Int>(0)
    /// A batch is written once it holds this many bytes (about 60 lines).
    static let accessBatchBytes = 8192

    /// The level below which lines are dropped; changed at start-up and on SIGHUP.
    public static var level: LogLevel {
        get { LogLevel(rawValue: threshold.load(ordering: .relaxed)) ?? .info }
        set { threshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// Whether lines of `level` are written.
    public static func enabled(_ level: LogLevel) -> Bool {
        level.rawValue <= threshold.load(ordering: .relaxed)
    }

    /// Writes `message` at `level`, after the access lines gathered before it.
    @Sendable public static func write(_ level: LogLevel, _ message: String) {
        guard enabled(level) else { return }
        writing.withLock { writes in
            writeAll(takeAccessLines())
            var line = prefix(level) + message + "\n"
            line.withUTF8 { writeAll($0) }
            writes &+= 1
        }
    }

    /// Gathers an `info` access-log line for `message`; written with the next batch.
    public static func access(_ message: String) {
        guard enabled(.info) else { return }
        var line = prefix(.info) + message + "\n"
        let full = line.withUTF8 { bytes in
            pendingAccessLines.withLock { pending in
                pending.append(contentsOf: bytes)
                return pending.count >= accessBatchBytes
            }
        }
        if full { flushAccessLines() }
    }

    /// Writes the access-log lines gathered so far.
    public static func flushAccessLines() {
        writing.withLock { writes in
            writeAll(takeAccessLines())
            writes &+= 1
        }
    }

    private static func prefix(_ level: LogLevel) -> String {
        prefixes[level.rawValue]
    }

    /// `todo-fcgi[PID] LEVEL: ` for each level, made once (describing an enum case reflects).
    private static let prefixes = LogLevel.allCases.map { "todo-fcgi[\(processID)] \($0): " }

    private static func takeAccessLines() -> [UInt8] {
        pendingAccessLines.withLock { pending in
            guard !pending.isEmpty else { return [] }
            var taken: [UInt8] = []
            taken.reserveCapacity(accessBatchBytes * 2)
            swap(&taken, &pending)
            return taken
        }
    }

    private static func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { writeAll($0) }
    }

    /// Writes every byte, resuming after a partial write or a signal.
    private static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0, errno == EINTR {
                continue
            } else {
                return  // stderr is gone: nothing else can be told
            }
        }
    }

    /// An error line: always written.
    @Sendable public static func error(_ message: String) {
        write(.error, message)
    }

    /// A lifecycle line (start, reload, stop).
    @Sendable public static func notice(_ message: String) {
        write(.notice, message)
    }

    /// An informational line.
    @Sendable public static func info(_ message: String) {
        write(.info, message)
    }
}

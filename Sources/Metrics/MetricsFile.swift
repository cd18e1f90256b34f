import CAtomics
import SharedMapping

#if canImport(Glibc)
import Glibc
#endif

/// Why the metrics file cannot be used.
public struct MetricsError: Error, Sendable, CustomStringConvertible {
    /// One line for the operator.
    public let description: String
}

/// The metrics of every process serving one database, in one small file mapped by all of them
/// (`spawn-fcgi -F N` or several systemd processes share nothing else), so one scrape answered
/// by any process describes the whole service.
///
/// Each worker thread claims a slot of counters and is its only writer; each process claims a
/// slot for its gauges. Claims happen under an exclusive `flock`, and a slot whose process has
/// died is taken over with its counts kept, so totals never go backwards across restarts.
/// `@unchecked Sendable`: the mapping never moves; slots are written through relaxed atomics.
public final class MetricsFile: @unchecked Sendable {
    /// The file's path.
    public var path: String { mapping.path }
    private let mapping: GuardedFileMapping
    private let words: UnsafeMutablePointer<UInt64>

    /// Opens the metrics file at `path`, or makes a new one when there is none or its layout
    /// differs (another build's labels or sizes).
    ///
    /// A file other processes may have mapped is never shrunk or rewritten in place (a page
    /// past a mapped file's end is SIGBUS for every process touching it): a new layout is
    /// written to a file of its own, allocated in full, and renamed over the old one; processes
    /// of the old layout keep their mapping of the old file (during an upgrade with mixed
    /// versions) until they restart (`GuardedFileMapping`).
    public init(path: String) throws(MetricsError) {
        precondition(MetricsLayout.threadSlotUsedWords <= MetricsLayout.threadSlotWords)
        let byteCount = MetricsLayout.fileWords * 8
        let header = [MetricsLayout.magic, MetricsLayout.version, MetricsLayout.fingerprint]
        do {
            mapping = try GuardedFileMapping(path: path, byteCount: byteCount, isCurrent: { descriptor in
                Self.hasCurrentLayout(descriptor, byteCount: byteCount, header: header)
            }, initialize: { descriptor in
                var written = header
                return written.withUnsafeMutableBytes { pwrite(descriptor, $0.baseAddress, 24, 0) } == 24
            })
        } catch {
            throw MetricsError(description: "metrics file \(error)")
        }
        words = mapping.base.bindMemory(to: UInt64.self, capacity: MetricsLayout.fileWords)
    }

    /// True once this process stopped recording into the file: it was found shrunk (by
    /// `checkIntact`, or by a fault in it), and the mapping now holds anonymous memory.
    public var isDetached: Bool { mapping.isDetached }

    /// Whether the file is still whole; when it has shrunk, detaches the mapping first (so no
    /// access can fault) and returns false. A file replaced by a new layout (an upgrade) is
    /// not a failure: this process keeps its counts in the old one until it restarts.
    /// Cheap: the housekeeper calls it.
    public func checkIntact() -> Bool { mapping.checkIntegrity() != .detached }

    /// Whether the open file is of this build's layout and size.
    private static func hasCurrentLayout(_ descriptor: Int32, byteCount: Int, header expected: [UInt64]) -> Bool {
        var status = stat()
        var header = [UInt64](repeating: 0, count: 3)
        let headerRead = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 24, 0) }
        return fstat(descriptor, &status) == 0 && Int(status.st_size) == byteCount && headerRead == 24 && header == expected
    }

    /// A slot of counters for the calling thread; the thread is its only writer from now on.
    public func claimThreadSlot() throws(MetricsError) -> ThreadMetrics {
        let slot = try claim(first: MetricsLayout.headerWords, count: MetricsLayout.threadSlots, size: MetricsLayout.threadSlotWords,
                             usedWord: MetricsLayout.threadSlotsUsedWord)
        return ThreadMetrics(base: slot, file: self)
    }

    /// The slot of this process's gauges.
    public func claimProcessSlot() throws(MetricsError) -> ProcessMetrics {
        let slot = try claim(first: MetricsLayout.processSlotsFirstWord, count: MetricsLayout.processSlots, size: MetricsLayout.processSlotWords,
                             usedWord: MetricsLayout.processSlotsUsedWord)
        return ProcessMetrics(base: slot, file: self)
    }

    /// Takes a free slot, or one whose process is gone (keeping its counts), under the file lock;
    /// a slot never used before only when every used one is taken (`usedWord` counts them).
    private func claim(first: Int, count: Int, size: Int, usedWord: Int) throws(MetricsError) -> UnsafeMutablePointer<UInt64> {
        guard mapping.lock() else { throw Self.failure("flock", path) }
        defer { mapping.unlock() }
        // A dead process's slot first: its counts carry on, and the file stays as small as the
        // largest set of threads that ever ran at once.
        let used = usedSlots(usedWord, of: count)
        var free: UnsafeMutablePointer<UInt64>?
        for index in 0..<used {
            let slot = words + first + index * size
            let owner = todo_atomic_load(slot)
            if owner == 0 {
                if free == nil { free = slot }
            } else if !Self.isAlive(owner) {
                todo_atomic_store(slot, UInt64(getpid()))
                return slot
            }
        }
        if free == nil, used < count {
            free = words + first + used * size
            todo_atomic_store(words + usedWord, UInt64(used + 1))
        }
        guard let free else {
            throw MetricsError(description: "the metrics file \(path) has no free slot (\(count) in use)")
        }
        todo_atomic_store(free, UInt64(getpid()))
        return free
    }

    /// How many of `count` slots were ever claimed, as the header word `usedWord` counts them.
    private func usedSlots(_ usedWord: Int, of count: Int) -> Int {
        min(Int(todo_atomic_load(words + usedWord)), count)
    }

    /// Every slot summed (counters) and the live processes' gauges summed.
    public func snapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        for index in 0..<usedSlots(MetricsLayout.threadSlotsUsedWord, of: MetricsLayout.threadSlots) {
            let slot = words + MetricsLayout.headerWords + index * MetricsLayout.threadSlotWords
            guard todo_atomic_load(slot) != 0 else { continue }
            snapshot.add(threadSlot: slot)
        }
        for index in 0..<usedSlots(MetricsLayout.processSlotsUsedWord, of: MetricsLayout.processSlots) {
            let slot = words + MetricsLayout.processSlotsFirstWord + index * MetricsLayout.processSlotWords
            let owner = todo_atomic_load(slot)
            guard owner != 0 else { continue }
            snapshot.add(processSlot: slot, alive: Self.isAlive(owner))
        }
        return snapshot
    }

    /// Whether process `pid` still runs: it exists and is not a zombie waiting to be reaped
    /// (a stopped worker whose parent has not collected it yet has stopped counting).
    static func isAlive(_ pid: UInt64) -> Bool {
        guard pid > 0, pid <= UInt64(Int32.max) else { return false }
        if kill(pid_t(pid), 0) != 0, errno == ESRCH { return false }
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = fread(&buffer, 1, buffer.count, file)
        // "pid (comm) state ...": the state follows the last ')' (comm may hold parentheses).
        guard let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return true }
        return buffer[close + 2] != UInt8(ascii: "Z") && buffer[close + 2] != UInt8(ascii: "X")
    }

    private static func failure(_ call: String, _ path: String) -> MetricsError {
        let error = errno
        return MetricsError(description: "metrics file \(path): \(call) failed: \(String(cString: strerror(error)))")
    }
}

import CAtomics

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
    public let path: String
    private let descriptor: Int32
    private let words: UnsafeMutablePointer<UInt64>
    private let byteCount: Int

    /// Opens (creating or re-initialising when its layout differs) the metrics file at `path`.
    public init(path: String) throws(MetricsError) {
        precondition(MetricsLayout.threadSlotUsedWords <= MetricsLayout.threadSlotWords)
        self.path = path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw Self.failure("open", path) }
        byteCount = MetricsLayout.fileWords * 8
        guard flock(descriptor, LOCK_EX) == 0 else {
            let error = Self.failure("flock", path)
            close(descriptor)
            throw error
        }
        defer { flock(descriptor, LOCK_UN) }
        var status = stat()
        var header = [UInt64](repeating: 0, count: 2)
        let headerRead = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 16, 0) }
        guard fstat(descriptor, &status) == 0 else {
            let error = Self.failure("fstat", path)
            close(descriptor)
            throw error
        }
        let reset = Int(status.st_size) != byteCount || headerRead != 16
            || header[0] != MetricsLayout.magic || header[1] != MetricsLayout.version
        if reset {
            // A new file, or one of another layout: zeros, with every block allocated now, so a
            // full disk later can never turn a counter update into SIGBUS.
            let allocated = ftruncate(descriptor, 0) == 0 ? posix_fallocate(descriptor, 0, off_t(byteCount)) : errno
            guard allocated == 0 else {
                close(descriptor)
                throw MetricsError(description: "metrics file \(path): cannot allocate \(byteCount) bytes: \(String(cString: strerror(allocated)))")
            }
        }
        guard let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
            let error = Self.failure("mmap", path)
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        words = mapping.bindMemory(to: UInt64.self, capacity: MetricsLayout.fileWords)
        if reset {
            words[1] = MetricsLayout.version
            words[0] = MetricsLayout.magic
        }
    }

    deinit {
        munmap(words, byteCount)
        close(descriptor)
    }

    /// A slot of counters for the calling thread; the thread is its only writer from now on.
    public func claimThreadSlot() throws(MetricsError) -> ThreadMetrics {
        let slot = try claim(first: MetricsLayout.headerWords, count: MetricsLayout.threadSlots, size: MetricsLayout.threadSlotWords)
        return ThreadMetrics(base: slot, file: self)
    }

    /// The slot of this process's gauges.
    public func claimProcessSlot() throws(MetricsError) -> ProcessMetrics {
        let first = MetricsLayout.headerWords + MetricsLayout.threadSlots * MetricsLayout.threadSlotWords
        let slot = try claim(first: first, count: MetricsLayout.processSlots, size: MetricsLayout.processSlotWords)
        return ProcessMetrics(base: slot, file: self)
    }

    /// Takes a free slot, or one whose process is gone (keeping its counts), under the file lock.
    private func claim(first: Int, count: Int, size: Int) throws(MetricsError) -> UnsafeMutablePointer<UInt64> {
        guard flock(descriptor, LOCK_EX) == 0 else { throw Self.failure("flock", path) }
        defer { flock(descriptor, LOCK_UN) }
        // A dead process's slot first: its counts carry on, and the file stays as small as the
        // largest set of threads that ever ran at once.
        var free: UnsafeMutablePointer<UInt64>?
        for index in 0..<count {
            let slot = words + first + index * size
            let owner = todo_atomic_load(slot)
            if owner == 0 {
                if free == nil { free = slot }
            } else if !Self.isAlive(owner) {
                todo_atomic_store(slot, UInt64(getpid()))
                return slot
            }
        }
        guard let free else {
            throw MetricsError(description: "the metrics file \(path) has no free slot (\(count) in use)")
        }
        todo_atomic_store(free, UInt64(getpid()))
        return free
    }

    /// Every slot summed (counters) and the live processes' gauges summed.
    public func snapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        for index in 0..<MetricsLayout.threadSlots {
            let slot = words + MetricsLayout.headerWords + index * MetricsLayout.threadSlotWords
            guard todo_atomic_load(slot) != 0 else { continue }
            snapshot.add(threadSlot: slot)
        }
        let first = MetricsLayout.headerWords + MetricsLayout.threadSlots * MetricsLayout.threadSlotWords
        for index in 0..<MetricsLayout.processSlots {
            let slot = words + first + index * MetricsLayout.processSlotWords
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

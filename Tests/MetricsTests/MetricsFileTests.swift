import Testing
@testable import Metrics

#if canImport(Glibc)
import Glibc
#endif

@Suite("Metrics file")
struct MetricsFileTests {
    static func path() -> String { "/tmp/todo-fcgi-metrics-\(UInt64.random(in: 0...UInt64.max))" }

    /// The `Rss:` of this process's mapping that starts at `address`, from /proc/self/smaps.
    static func residentKiB(ofMappingAt address: UInt) -> Int? {
        guard let file = fopen("/proc/self/smaps", "r") else { return nil }
        defer { fclose(file) }
        let start = String(address, radix: 16) + "-"
        var inMapping = false
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let first = text.first, first.isHexDigit, text.contains("-") {
                inMapping = text.hasPrefix(start)
            } else if inMapping, text.hasPrefix("Rss:") {
                return Int(text.dropFirst(4).drop { $0 == " " }.prefix { $0.isNumber })
            }
        }
        return nil
    }

    @Test func countersOfEveryThreadAndEveryOpenerAreSummed() throws {
        let path = Self.path()
        defer { unlink(path) }
        let first = try MetricsFile(path: path)
        let second = try MetricsFile(path: path)  // another process's mapping of the same file
        let a = try first.claimThreadSlot()
        let b = try second.claimThreadSlot()
        #expect(a.base != b.base)
        a.recordRequest(route: "/api/{user_id}/tasks", method: "POST", status: 201, seconds: 0.0004)
        a.recordRequest(route: "/api/{user_id}/tasks", method: "POST", status: 201, seconds: 0.003)
        b.recordRequest(route: "/api/{user_id}/tasks", method: "POST", status: 201, seconds: 20)
        b.recordRequest(route: nil, method: "BREW", status: 418, seconds: 0.001)
        b.recordAuthFailure(reason: .expired)
        b.recordStorageError(kind: .busy)
        a.recordCommittedWrite()
        for snapshot in [first.snapshot(), second.snapshot()] {
            #expect(snapshot.requests(route: "/api/{user_id}/tasks", method: "POST", status: 201) == 3)
            #expect(snapshot.requests(route: "(none)", method: "other", status: 0) == 1)
            #expect(snapshot.authFailures[MetricsLayout.authFailureReasons.firstIndex(of: "expired")!] == 1)
            #expect(snapshot.storageErrors[MetricsLayout.storageErrorKinds.firstIndex(of: "busy")!] == 1)
            #expect(snapshot.writesCommitted == 1)
        }
    }

    @Test func slotsAreTakenInOrderAndOnlyTheUsedOnesAreTouched() throws {
        let path = Self.path()
        defer { unlink(path) }
        let file = try MetricsFile(path: path)
        let slots = try (0..<3).map { _ in try file.claimThreadSlot() }
        let process = try file.claimProcessSlot()
        let firstThreadSlot = slots[0].base
        #expect(slots.map { $0.base - firstThreadSlot } == [0, MetricsLayout.threadSlotWords, 2 * MetricsLayout.threadSlotWords])
        // Only the header's and the claimed slots' pages are in this process's RSS, not the 256
        // thread slots' 2 MiB (which every worker process used to count).
        let mapping = UInt(bitPattern: UnsafeMutableRawPointer(firstThreadSlot) - MetricsLayout.headerWords * 8)
        let residentKiB = try #require(Self.residentKiB(ofMappingAt: mapping))
        let usedKiB = (MetricsLayout.headerWords + 3 * MetricsLayout.threadSlotWords) * 8 / 1024
        #expect(residentKiB <= usedKiB + 16, "\(residentKiB) KiB of \(MetricsLayout.fileWords * 8 / 1024) KiB resident")
        // The snapshot reads the used slots only, and still sees all of them.
        slots[2].recordCommittedWrite()
        #expect(file.snapshot().writesCommitted == 1)
        _ = process
    }

    @Test func aSlotOfADeadProcessIsTakenOverWithItsCounts() throws {
        let path = Self.path()
        defer { unlink(path) }
        let file = try MetricsFile(path: path)
        let gone = try file.claimThreadSlot()
        gone.recordCommittedWrite()
        gone.base.pointee = UInt64(Int32.max) + 1  // a pid no process has
        let process = try file.claimProcessSlot()
        var sample = ProcessMetrics.Sample()
        sample.connectionsAccepted = 5
        sample.threads = 8
        process.publish(sample)
        process.base.pointee = UInt64(Int32.max) + 1
        #expect(file.snapshot().process[.threads] == nil)  // a dead process's gauges are not counted
        #expect(file.snapshot().process[.connectionsAccepted] == 5)  // its counters are

        let successor = try file.claimThreadSlot()
        #expect(successor.base == gone.base)
        successor.recordCommittedWrite()
        #expect(file.snapshot().writesCommitted == 2)
        let replacement = try file.claimProcessSlot()
        #expect(replacement.base == process.base)
        sample.connectionsAccepted = 1
        replacement.publish(sample)
        #expect(file.snapshot().process[.connectionsAccepted] == 6)  // never goes backwards
        #expect(file.snapshot().process[.threads] == 8)
    }

    @Test func theJWKSAndTheDatabaseAreCountedOnceWhateverTheProcesses() throws {
        let path = Self.path()
        defer { unlink(path) }
        let first = try MetricsFile(path: path)
        let second = try MetricsFile(path: path)
        var sample = ProcessMetrics.Sample()
        sample.jwksKeys = 2
        sample.databaseBytes = 4096
        sample.threads = 8
        try first.claimProcessSlot().publish(sample)
        try second.claimProcessSlot().publish(sample)
        let snapshot = first.snapshot()
        #expect(snapshot.process[.jwksKeys] == 2)
        #expect(snapshot.process[.databaseBytes] == 4096)
        #expect(snapshot.process[.threads] == 16)  // threads do add up
    }

    @Test func aFileOfAnotherLayoutIsStartedAfresh() throws {
        let path = Self.path()
        defer { unlink(path) }
        let descriptor = open(path, O_RDWR | O_CREAT, 0o600)
        _ = "not a metrics file".withCString { write(descriptor, $0, 18) }
        close(descriptor)
        let file = try MetricsFile(path: path)
        #expect(file.snapshot().writesCommitted == 0)
        var status = stat()
        stat(path, &status)
        #expect(Int(status.st_size) == MetricsLayout.fileWords * 8)
    }

    /// Before: `init` truncated and reallocated a file of another layout in place, under the
    /// processes of the older build that had it mapped (SIGBUS for them). Now the new layout
    /// is a new file renamed over the old one: an old mapping stays whole and untouched.
    @Test func aFileOfAnotherLayoutIsReplacedNotRewrittenInPlace() throws {
        let path = Self.path()
        defer { unlink(path) }
        let oldSize = 1 << 16
        let descriptor = open(path, O_RDWR | O_CREAT, 0o600)
        defer { close(descriptor) }
        #expect(posix_fallocate(descriptor, 0, off_t(oldSize)) == 0)
        let oldMapping = try #require(mmap(nil, oldSize, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0))
        defer { munmap(oldMapping, oldSize) }
        let oldWords = oldMapping.bindMemory(to: UInt64.self, capacity: oldSize / 8)
        oldWords[0] = 0x1234
        oldWords[oldSize / 8 - 1] = 42  // the old build's last page, still in use
        let file = try MetricsFile(path: path)
        try file.claimThreadSlot().recordCommittedWrite()
        var old = stat()
        var new = stat()
        fstat(descriptor, &old)
        stat(path, &new)
        #expect(Int(old.st_size) == oldSize && old.st_ino != new.st_ino)
        #expect(oldWords[0] == 0x1234 && oldWords[oldSize / 8 - 1] == 42)
        #expect(try MetricsFile(path: path).snapshot().writesCommitted == 1)
    }

    /// Before: a file shrunk under a running worker killed it with SIGBUS on its next counter
    /// update. Now the mapping is detached (anonymous memory) and the process goes on.
    @Test func aFileShrunkUnderItsMappingStopsRecordingInsteadOfFaulting() throws {
        let path = Self.path()
        defer { unlink(path) }
        let file = try MetricsFile(path: path)
        let slot = try file.claimThreadSlot()
        slot.recordCommittedWrite()
        #expect(!file.isDetached && file.checkIntact())
        #expect(truncate(path, 0) == 0)
        // Every page is now past the end of the file: these accesses fault, and are retried.
        slot.recordRequest(route: "/health", method: "GET", status: 200, seconds: 0.001)
        slot.recordCommittedWrite()
        _ = file.snapshot()
        #expect(file.isDetached && !file.checkIntact())
    }

    @Test func aShrunkFileIsDetachedByTheCheckBeforeAnythingFaults() throws {
        let path = Self.path()
        defer { unlink(path) }
        let file = try MetricsFile(path: path)
        let slot = try file.claimThreadSlot()
        #expect(truncate(path, 4096) == 0)
        #expect(!file.checkIntact() && file.isDetached)
        slot.recordCommittedWrite()
        #expect(file.snapshot().writesCommitted == 0)  // the detached memory holds no claimed slot
        // A new opener finds a file of the wrong size and makes a whole new one.
        let fresh = try MetricsFile(path: path)
        try fresh.claimThreadSlot().recordCommittedWrite()
        #expect(fresh.snapshot().writesCommitted == 1 && fresh.checkIntact())
    }

    @Test func aSlotKeepsItsMappingAlive() throws {
        let path = Self.path()
        defer { unlink(path) }
        let slot = try MetricsFile(path: path).claimThreadSlot()  // the file object is not kept here
        slot.recordCommittedWrite()
        #expect(try MetricsFile(path: path).snapshot().writesCommitted == 1)
    }

    @Test func aPathThatCannotBeOpenedIsAnError() {
        #expect(throws: MetricsError.self) { try MetricsFile(path: "/nonexistent-directory/metrics") }
    }
}

@Suite("Prometheus text")
struct PrometheusTextTests {
    @Test func countersHistogramsAndGaugesInTheExpositionFormat() throws {
        let path = MetricsFileTests.path()
        defer { unlink(path) }
        let file = try MetricsFile(path: path)
        let thread = try file.claimThreadSlot()
        thread.recordRequest(route: "/health", method: "GET", status: 200, seconds: 0.0007)
        thread.recordRequest(route: "/health", method: "GET", status: 200, seconds: 0.3)
        thread.recordAuthFailure(reason: .badSignature)
        var sample = ProcessMetrics.Sample()
        sample.threads = 8
        sample.startTime = 1_800_000_000
        try file.claimProcessSlot().publish(sample)
        let text = file.snapshot().prometheusText(version: "9.9.9")
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("todo_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"))
        #expect(lines.contains("todo_request_duration_seconds_bucket{route=\"/health\",le=\"0.0005\"} 0"))
        #expect(lines.contains("todo_request_duration_seconds_bucket{route=\"/health\",le=\"0.001\"} 1"))
        #expect(lines.contains("todo_request_duration_seconds_bucket{route=\"/health\",le=\"0.25\"} 1"))
        #expect(lines.contains("todo_request_duration_seconds_bucket{route=\"/health\",le=\"0.5\"} 2"))
        #expect(lines.contains("todo_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 2"))
        #expect(lines.contains("todo_request_duration_seconds_count{route=\"/health\"} 2"))
        #expect(lines.contains("todo_request_duration_seconds_sum{route=\"/health\"} 0.3007"))
        #expect(lines.contains("todo_auth_failures_total{reason=\"bad_signature\"} 1"))
        #expect(lines.contains("todo_auth_failures_total{reason=\"expired\"} 0"))
        #expect(lines.contains("todo_threads 8"))
        #expect(lines.contains("todo_process_start_time_seconds 1800000000"))
        #expect(lines.contains("todo_build_info{version=\"9.9.9\"} 1"))
        #expect(lines.contains("# TYPE todo_request_duration_seconds histogram"))
        // Every sample line belongs to a family announced by a TYPE line before it.
        var families: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { families.insert(String(line.split(separator: " ")[2])) }
            guard !line.hasPrefix("#") else { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) && !families.contains($0) ? String($0.dropLast($1.count)) : $0 }
            #expect(families.contains(family), "\(line)")
        }
    }
}

@Suite("Process liveness")
struct ProcessLivenessTests {
    @Test func thisProcessIsAliveAndImpossiblePidsAreNot() {
        #expect(MetricsFile.isAlive(UInt64(getpid())))
        #expect(MetricsFile.isAlive(1))
        #expect(!MetricsFile.isAlive(0))
        #expect(!MetricsFile.isAlive(UInt64(Int32.max) + 1))
    }
}

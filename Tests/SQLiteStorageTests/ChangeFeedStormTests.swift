import Clocks
import Locks
import SQLiteStorage
import TaskModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The wake-up mechanism under a storm of commits: publishers in one mapping of the feed (one
/// process), a listener in another, as the room's thread uses it. Each of 200 announced changes
/// of one user must reach the listener well within its 5 s sleep (a lost wake-up would cost the
/// whole sleep), and no publication is lost from the counts.
@Suite struct ChangeFeedStormTests {
    static func storm(publisher: any ChangeFeed, listener: any ChangeFeed) throws {
        let watched = ChangeKey(userID: "watched")
        let stop = Locked(false)
        let published = Locked(0)
        let acknowledged = Locked<UInt64>(listener.marker(of: watched))
        let stormers = (0..<3).map { index in
            WorkerThread {
                var count = 0
                while !stop.withLock({ $0 }) {
                    let key = ChangeKey(userID: "storm-\(index)-\(count % 500)")
                    if ChangeBuckets.index(of: key) != ChangeBuckets.index(of: watched) {
                        publisher.publish(key)
                        count += 1
                        if count % 100 == 0 { published.withLock { $0 += 100 } }
                    }
                }
            }
        }
        let room = WorkerThread {
            var seen: UInt64 = 0
            while !stop.withLock({ $0 }) {
                seen = listener.awaitChange(after: seen, timeoutNanoseconds: 5_000_000_000)
                let marker = listener.marker(of: watched)
                acknowledged.withLock { $0 = marker }
            }
        }
        // The probes start once the storm is under way (a sanitizer slows the stormers a lot).
        let underWay = MonotonicClock.nanoseconds() + 10_000_000_000
        while published.withLock({ $0 }) < 500, MonotonicClock.nanoseconds() < underWay { usleep(1_000) }
        let publishedBeforeProbes = published.withLock { $0 }
        var slowest: UInt64 = 0
        var lost = 0
        for _ in 0..<200 {
            let before = acknowledged.withLock { $0 }
            let began = MonotonicClock.nanoseconds()
            publisher.publish(watched)
            while acknowledged.withLock({ $0 }) == before, MonotonicClock.nanoseconds() - began < 2_000_000_000 { usleep(100) }
            if acknowledged.withLock({ $0 }) == before { lost += 1 }
            slowest = max(slowest, MonotonicClock.nanoseconds() - began)
        }
        stop.withLock { $0 = true }
        publisher.publish(watched)  // the room's last sleep ends at once
        stormers.forEach { $0.join() }
        room.join()
        #expect(lost == 0)
        #expect(slowest < 1_000_000_000, "slowest wake-up \(slowest / 1_000_000) ms")
        // The stormers run until `stop`, so the probes all ran in the storm.
        #expect(publishedBeforeProbes >= 500, "the storm was under way before the probes")
        #expect(listener.marker(of: watched) == publisher.marker(of: watched))
    }

    @Test func sharedFeedsInTwoMappingsWakeUnderAStorm() throws {
        let path = "/tmp/todo-fcgi-feed-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { unlink(SharedChangeFeed.path(forDatabase: path)) }
        let publisher = try SharedChangeFeed(databasePath: path)
        let listener = try SharedChangeFeed(databasePath: path)
        let before = (0..<3).map { publisher.marker(of: ChangeKey(userID: "count-\($0)")) }
        try Self.storm(publisher: publisher, listener: listener)
        // Counts are exact across mappings: three more publications, three more on the other side.
        for index in 0..<3 { publisher.publish(ChangeKey(userID: "count-\(index)")) }
        for index in 0..<3 { #expect(listener.marker(of: ChangeKey(userID: "count-\(index)")) > before[index]) }
    }

    @Test func theLocalFeedWakesUnderAStorm() throws {
        let feed = LocalChangeFeed()
        try Self.storm(publisher: feed, listener: feed)
    }

    @Test func theFeedFileIsPrivateAndAForeignOneIsReplacedNeverUsed() throws {
        let path = "/tmp/todo-fcgi-feed-\(UInt64.random(in: 0...UInt64.max)).db"
        let feedPath = SharedChangeFeed.path(forDatabase: path)
        defer { unlink(feedPath) }
        _ = try SharedChangeFeed(databasePath: path)
        var status = stat()
        #expect(stat(feedPath, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        // Another layout (here: garbage where the magic is) is never used: a new file is made
        // beside it and renamed over it (GuardedFileMapping), so a process still mapping the old
        // one keeps it, and the new one is private too.
        let descriptor = open(feedPath, O_WRONLY)
        var garbage: UInt64 = 0x1234
        #expect(pwrite(descriptor, &garbage, 8, 0) == 8)
        var foreign = stat()
        #expect(fstat(descriptor, &foreign) == 0)
        let replaced = try SharedChangeFeed(databasePath: path)
        close(descriptor)
        var fresh = stat()
        #expect(stat(feedPath, &fresh) == 0 && fresh.st_ino != foreign.st_ino && fresh.st_mode & 0o777 == 0o600)
        var magic: UInt64 = 0
        let reader = open(feedPath, O_RDONLY)
        #expect(pread(reader, &magic, 8, 0) == 8 && magic == 0x746F_646F_6368_6E67)
        close(reader)
        #expect(replaced.checkIntact())
    }

    /// A change file renamed over (another process made a new one) is told (`checkIntact` false)
    /// but kept: nothing in it can fault, and the processes still mapping it still share it.
    @Test func aReplacedFeedFileIsToldAndKeptNotDetached() throws {
        let path = "/tmp/todo-fcgi-feed-\(UInt64.random(in: 0...UInt64.max)).db"
        let feedPath = SharedChangeFeed.path(forDatabase: path)
        defer { unlink(feedPath) }
        let first = try SharedChangeFeed(databasePath: path)
        let second = try SharedChangeFeed(databasePath: path)
        let key = ChangeKey(userID: "alice")
        #expect(first.checkIntact() && second.checkIntact())
        unlink(feedPath)
        let third = try SharedChangeFeed(databasePath: path)
        #expect(!first.checkIntact() && !second.checkIntact() && third.checkIntact())
        // The first two still share the old file; the third does not see them.
        first.publish(key)
        #expect(second.marker(of: key) == first.marker(of: key) && first.marker(of: key) > 0)
        #expect(third.marker(of: key) == 0)
    }

    @Test func aKeyIsTheFirstEightBytesOfTheIdsSHA256AsPostgreSQLWritesIt() {
        // SHA-256("abc") = ba7816bf8f01cfea 414140de…
        #expect(ChangeKey(userID: "abc").value == 0xba78_16bf_8f01_cfea)
        #expect(ChangeKey(hex: Array("ba7816bf8f01cfea".utf8)) == ChangeKey(userID: "abc"))
        #expect(ChangeKey(hex: Array("ba7816bf8f01cfe".utf8)) == nil)
        #expect(ChangeKey(hex: Array("ba7816bf8f01cfeg".utf8)) == nil)
    }
}

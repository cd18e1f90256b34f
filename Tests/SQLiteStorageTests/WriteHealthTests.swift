import SQLite
import Synchronization
import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

@Suite("Write health")
struct WriteHealthTests {
    final class Clock: Sendable {
        let seconds = Mutex<Double>(100)
        func advance(_ delta: Double) { seconds.withLock { $0 += delta } }
    }

    /// A store whose writes fail as on a read-only database (`PRAGMA query_only`), until `repair`.
    struct Subject {
        let path = "/tmp/todo-fcgi-health-\(UInt64.random(in: 0...UInt64.max)).db"
        let connection: SQLiteConnection
        let store: SQLiteTaskStore
        let clock = Clock()

        init() throws {
            connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
            let clock = self.clock
            store = SQLiteTaskStore(connection: connection, health: WriteHealth(clock: { clock.seconds.withLock { $0 } }))
        }

        func breakWrites() throws { try connection.execute("PRAGMA query_only = 1") }
        func repair() throws { try connection.execute("PRAGMA query_only = 0") }
        func remove() { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
    }

    @Test func aFailedWriteMakesHealthProbeAtMostOncePerSecond() throws {
        let subject = try Subject()
        defer { subject.remove() }
        try subject.store.checkHealth()
        try subject.breakWrites()
        #expect(throws: StorageError.self) {
            try subject.store.create(userID: "u", state: TaskState(title: "x"), now: 1)
        }
        #expect(throws: StorageError.self) { try subject.store.checkHealth() }  // the probe write fails
        try subject.repair()
        // Within the second: the last probe's answer, without another write.
        subject.clock.advance(0.9)
        #expect(throws: StorageError.self) { try subject.store.checkHealth() }
        subject.clock.advance(0.1)
        try subject.store.checkHealth()  // a new probe, and it succeeds
        try subject.store.checkHealth()
    }

    @Test func aSuccessfulWriteClearsTheFailureWithoutAProbe() throws {
        let subject = try Subject()
        defer { subject.remove() }
        try subject.breakWrites()
        let draft = TaskState(title: "x")
        #expect(throws: StorageError.self) { try subject.store.create(userID: "u", state: draft, now: 1) }
        #expect(throws: StorageError.self) { try subject.store.checkHealth() }
        try subject.repair()
        _ = try subject.store.create(userID: "u", state: draft, now: 2)
        try subject.store.checkHealth()  // within the probe interval, but writes work again
    }
}

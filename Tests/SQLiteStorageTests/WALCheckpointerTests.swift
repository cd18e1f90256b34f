import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

@Suite("WAL checkpointer")
struct WALCheckpointerTests {
    static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : -1
    }

    @Test func theBackendsStoresShareOneCheckpointerThatCopiesTheWALWhileTheyLive() throws {
        let path = "/tmp/todo-fcgi-checkpointer-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let backend = SQLiteBackend(options: TaskDatabase.Options(path: path))
        try backend.migrate(progress: { _, _ in })
        weak var released: WALCheckpointer?
        do {
            let stores = try (0..<2).map { _ in try backend.makeStore() as! SQLiteTaskStore }
            let checkpointer = try #require(stores[0].checkpointer)
            #expect(stores[1].checkpointer === checkpointer)
            released = checkpointer
            let before = Self.fileSize(path)
            var state = TaskState(title: "checkpointed")
            state.description = String(repeating: "d", count: 1000)
            for _ in 0..<200 {
                _ = try stores[0].create(userID: "u", state: state, now: 1_700_000_000_000, idempotency: nil, render: { _ in [] })
            }
            // The serving connections checkpoint only past their backstop (10,000 pages, far
            // beyond these writes): the rows reach the database file through the checkpointer.
            // Both awaited: the checkpointer counts a checkpoint only after it has written the file
            // (a slow, sanitized run once read the size in between).
            let deadline = Self.now() + 10
            while Self.fileSize(path) < before + 200 * 1000 || checkpointer.checkpoints == 0, Self.now() < deadline { usleep(50_000) }
            #expect(Self.fileSize(path) >= before + 200 * 1000)
            #expect(checkpointer.checkpoints > 0)
        }
        // With the backend's last store gone, its checkpointer has stopped (its thread joined).
        #expect(released == nil)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

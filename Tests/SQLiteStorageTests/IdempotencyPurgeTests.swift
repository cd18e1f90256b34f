import SQLite
import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// A keyed create removes at most `IdempotencyKey.purgeBatch` of the user's expired keys, so no
/// write pays for a backlog of old keys.
@Suite("SQLite: idempotency key purge")
struct IdempotencyPurgeTests {
    @Test func expiredIdempotencyKeysArePurgedInBoundedBatches() throws {
        let path = "/tmp/todo-fcgi-purge-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let store = SQLiteTaskStore(connection: try TaskDatabase.open(TaskDatabase.Options(path: path)))
        let render: TaskRenderer = { _ in Array("{}".utf8) }
        func create(_ key: String, at now: Int64) throws {
            guard case .created = try store.create(userID: "alice", state: TaskState(title: "a"), now: now,
                                                   idempotency: IdempotencyKey(key: key, fingerprint: "f"), render: render) else {
                Issue.record("no create for \(key)")
                return
            }
        }
        for index in 0..<250 { try create("old-\(index)", at: 1_000) }
        let later = 1_000 + IdempotencyKey.retentionMilliseconds + 1
        let count = { () throws -> Int64 in
            try TaskDatabase.open(TaskDatabase.Options(path: path), migrate: false).scalarInteger("SELECT count(*) FROM idempotency_keys") ?? -1
        }
        try create("new-1", at: later)
        #expect(try count() == 250 - IdempotencyKey.purgeBatch + 1)
        try create("new-2", at: later)
        try create("new-3", at: later)
        #expect(try count() == 3)
    }
}

import Locks
import SQLite
import Synchronization
import Testing
@testable import SQLiteStorage
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// A value the writer threads of a test update under a lock the thread sanitizer understands.
final class Shared<Value: Sendable>: Sendable {
    private let lock: Locked<Value>
    init(_ value: Value) { lock = Locked(value) }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&$0) } }
    var value: Value { lock.withLock { $0 } }
}

@Suite("Group commit")
struct GroupCommitTests {
    /// A database file and one connection per writer thread, as the worker pool has.
    final class Subject: @unchecked Sendable {
        let path = "/tmp/todo-fcgi-group-\(UInt64.random(in: 0...UInt64.max)).db"
        let committer: GroupCommit
        var connections: [SQLiteConnection] = []

        /// `flushing`: as the server runs with synchronous=full (NORMAL under SQLite, the WAL
        /// flushed by the committer); `flushPath` lets a test point the flusher elsewhere.
        init(writers: Int, flushing: Bool = false, flushPath: String? = nil) throws {
            committer = GroupCommit(flusher: flushing ? WALFlusher(databasePath: flushPath ?? path) : nil)
            for _ in 0..<writers {
                let connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
                if flushing { try connection.execute("PRAGMA synchronous = NORMAL") }
                connections.append(connection)
            }
        }

        deinit { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }

        func insert(_ title: String, on writer: Int, pause: useconds_t = 0) throws(SQLiteError) -> Int64 {
            try committer.perform(on: connections[writer]) { connection throws(SQLiteError) -> Int64 in
                if pause > 0 { usleep(pause) }
                let statement = try connection.cachedStatement("""
                    INSERT INTO tasks (user_id, title, title_key, description, completed, created_at, updated_at)
                    VALUES ('u', ?1, ?1, NULL, 0, 1, 1) RETURNING \(TaskColumn.selectList)
                    """)
                defer { statement.reset() }
                try statement.bind(title, at: 1)
                guard try statement.step() else { return -1 }
                let row = StoredTask(statement: statement)
                while try statement.step() {}
                return row.id
            }.outcome
        }

        func failing(on writer: Int) throws(SQLiteError) {
            _ = try committer.perform(on: connections[writer]) { connection throws(SQLiteError) in
                // NOT NULL on title: the statement fails, inside the group's transaction.
                try connection.execute("INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES ('u', NULL, 'x', 0, 1, 1)")
            }
        }

        func titles() throws -> [String] {
            let statement = try connections[0].prepare("SELECT title FROM tasks ORDER BY id")
            var titles: [String] = []
            while try statement.step() { titles.append(statement.string(at: 0) ?? "") }
            return titles
        }
    }

    /// Starts `body(i)` on `count` threads, the first one alone first, so that the others queue
    /// while it holds the lead.
    static func concurrently(_ count: Int, firstHoldsTheLead: Bool = true, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        final class Box: @unchecked Sendable { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }
        for index in 0..<count {
            let box = Unmanaged.passRetained(Box { body(index) }).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { argument in
                Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box)
            threads.append(thread)
            if index == 0, firstHoldsTheLead { usleep(20_000) }
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    @Test func writesQueuedDuringAGroupShareTheNextTransaction() throws {
        let subject = try Subject(writers: 8)
        let ids = Shared<[Int: Int64]>([:])
        Self.concurrently(8) { index in
            let id = (try? subject.insert("w\(index)", on: index, pause: index == 0 ? 200_000 : 0)) ?? -1
            ids.update { $0[index] = id }
        }
        // The first writer's group held the lead for 200 ms: the seven others formed one group.
        #expect(subject.committer.commits == 2)
        let answered = ids.value
        #expect(Set(answered.values).count == 8 && !answered.values.contains(-1))
        // Each writer got its own row back.
        let titles = try subject.titles()
        #expect(titles.count == 8)
        for (index, id) in answered {
            let statement = try subject.connections[0].prepare("SELECT title FROM tasks WHERE id = ?1")
            try statement.bind(id, at: 1)
            #expect(try statement.step() && statement.string(at: 0) == "w\(index)")
        }
    }

    @Test func aWriteThatFailsFailsAloneAndTheRestOfItsGroupCommits() throws {
        let subject = try Subject(writers: 4)
        let outcomes = Shared<[Int: String]>([:])
        Self.concurrently(4) { index in
            let outcome: String
            do {
                if index == 2 {
                    try subject.failing(on: index)
                    outcome = "committed"
                } else {
                    _ = try subject.insert("w\(index)", on: index, pause: index == 0 ? 200_000 : 0)
                    outcome = "committed"
                }
            } catch {
                outcome = (error as? SQLiteError)?.isConstraintViolation == true ? "constraint" : "\(error)"
            }
            outcomes.update { $0[index] = outcome }
        }
        #expect(outcomes.value == [0: "committed", 1: "committed", 2: "constraint", 3: "committed"])
        #expect(subject.committer.commits == 2)
        #expect(Set(try subject.titles()) == ["w0", "w1", "w3"])
    }

    @Test func aLoneWriteCommitsAtOnce() throws {
        let subject = try Subject(writers: 1)
        #expect(try subject.insert("solo", on: 0) > 0)
        #expect(subject.committer.commits == 1)
        #expect(try subject.titles() == ["solo"])
    }

    @Test func withItsOwnFlushEveryWriteIsAnsweredAfterAFlush() throws {
        let subject = try Subject(writers: 8, flushing: true)
        let ids = Shared<[Int64]>([])
        Self.concurrently(8, firstHoldsTheLead: false) { index in
            for round in 0..<10 {
                let id = (try? subject.insert("w\(index)-\(round)", on: index)) ?? -1
                ids.update { $0.append(id) }
            }
        }
        #expect(ids.value.count == 80 && !ids.value.contains(-1))
        #expect(try subject.titles().count == 80)
        #expect(subject.committer.commits <= 80)
    }

    @Test func aGroupWhoseFlushFailsIsNotAcknowledged() throws {
        // The flusher looks for a WAL where there is none: every flush fails (ENOENT).
        let subject = try Subject(writers: 1, flushing: true, flushPath: "/nonexistent-directory/todo.db")
        #expect(throws: SQLiteError.self) { try subject.insert("never acknowledged", on: 0) }
        // A failed flush is permanent (hardening round 3, item 6): the next write is not even run.
        do {
            _ = try subject.insert("never run", on: 0)
        } catch {
            #expect(error.code == .ioError && error.message.hasPrefix("an earlier flush of the WAL failed"))
        }
        #expect(try subject.titles() == ["never acknowledged"])
    }
}

/// A flush the test controls: it blocks until released, counts, and fails when told to.
final class ControlledFlusher: LogFlusher, @unchecked Sendable {
    private let state = Locked((started: 0, released: 0, failNext: false))

    /// Flushes started so far.
    var started: Int { state.withLock { $0.started } }

    func flush() -> Int32 {
        let number = state.withLock { state -> Int in
            state.started += 1
            return state.started
        }
        while state.withLock({ $0.released < number }) { usleep(200) }
        return state.withLock { state -> Int32 in
            defer { state.failNext = false }
            return state.failNext ? EIO : 0
        }
    }

    /// Lets the next flush return (failing it with EIO when `failing`).
    func release(failing: Bool = false) {
        state.withLock {
            $0.failNext = failing
            $0.released += 1
        }
    }
}

/// Deferred durability: a write returns at its commit, and its answer waits for the flush.
@Suite("Group commit, answered after the flush")
struct DeferredDurabilityTests {
    final class Subject: @unchecked Sendable {
        let path = "/tmp/todo-fcgi-deferred-\(UInt64.random(in: 0...UInt64.max)).db"
        let flusher = ControlledFlusher()
        let committer: GroupCommit
        var connections: [SQLiteConnection] = []

        init(writers: Int) throws {
            committer = GroupCommit(flusher: flusher)
            for _ in 0..<writers {
                let connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
                try connection.execute("PRAGMA synchronous = NORMAL")
                connections.append(connection)
            }
        }

        deinit { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }

        /// Inserts a task, returning at its commit with the group's sequence.
        func insert(on writer: Int) throws(SQLiteError) -> Int? {
            try committer.perform(on: connections[writer], waitForDurability: false) { connection throws(SQLiteError) in
                try connection.execute("INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES ('u', 't', 't', 0, 1, 1)")
            }.sequence
        }
    }

    func waitFor(_ condition: () -> Bool) {
        for _ in 0..<5_000 where !condition() { usleep(1000) }
    }

    @Test func noWriteIsAnsweredBeforeAFlushCoversItAndOneFlushCoversManyGroups() throws {
        let subject = try Subject(writers: 1)
        let answered = Shared<[Int: Bool]>([:])
        // The first write's wait starts the first flush, which blocks: this thread is the flusher.
        let first = try #require(try subject.insert(on: 0))
        let flusherThread = WorkerThread { subject.committer.whenDurable(first) { durable in answered.update { $0[1] = durable } } }
        waitFor { subject.flusher.started == 1 }
        // Meanwhile three more groups commit (the writer is not held by the flush) and wait.
        var later: [Int] = []
        for index in 2...4 {
            let sequence = try #require(try subject.insert(on: 0))
            later.append(sequence)
            subject.committer.whenDurable(sequence) { durable in answered.update { $0[index] = durable } }
        }
        #expect(later == [2, 3, 4])
        #expect(answered.value.isEmpty)
        // The first flush returns: only the first write is answered; the second flush covers the rest.
        subject.flusher.release()
        waitFor { answered.value.count == 1 }
        #expect(answered.value == [1: true])
        waitFor { subject.flusher.started == 2 }
        subject.flusher.release()
        flusherThread.join()
        #expect(answered.value == [1: true, 2: true, 3: true, 4: true])
        #expect(subject.flusher.started == 2)
        // Already durable: answered at once, on the asking thread, without a flush.
        let again = Shared(false)
        subject.committer.whenDurable(3) { durable in again.update { $0 = durable } }
        #expect(again.value)
        #expect(subject.flusher.started == 2)
    }

    /// Hardening round 3, item 6: a failed flush fails every write it covered, and is
    /// permanent: no later write runs or is acknowledged (before, the next write's flush
    /// succeeded and it was answered, although its frames follow frames that may be lost).
    @Test func aFailedFlushFailsEveryWriteItCoveredAndEveryWriteAfterIt() throws {
        let subject = try Subject(writers: 1)
        let answered = Shared<[Int: Bool]>([:])
        let durable = try #require(try subject.insert(on: 0))
        let durableThread = WorkerThread { subject.committer.whenDurable(durable) { ok in answered.update { $0[durable] = ok } } }
        waitFor { subject.flusher.started == 1 }
        subject.flusher.release()
        durableThread.join()
        #expect(answered.value == [durable: true])
        let first = try #require(try subject.insert(on: 0))
        let second = try #require(try subject.insert(on: 0))
        let flusherThread = WorkerThread {
            subject.committer.whenDurable(first) { durable in answered.update { $0[first] = durable } }
        }
        waitFor { subject.flusher.started == 2 }
        subject.committer.whenDurable(second) { durable in answered.update { $0[second] = durable } }
        #expect(subject.committer.flushFailure == nil)
        subject.flusher.release(failing: true)
        flusherThread.join()
        // One flush covered both groups; it failed, so neither may be acknowledged.
        #expect(answered.value == [durable: true, first: false, second: false])
        #expect(subject.committer.flushFailure == EIO)
        // Asked again later, they are still not durable; what was durable before stays so.
        let late = Shared<[Bool]>([])
        subject.committer.whenDurable(first) { ok in late.update { $0.append(ok) } }
        subject.committer.whenDurable(durable) { ok in late.update { $0.append(ok) } }
        #expect(late.value == [false, true])
        // No write runs any more, and no flush is attempted for one.
        #expect(throws: SQLiteError.self) { try subject.insert(on: 0) }
        let rows = try subject.connections[0].scalarInteger("SELECT count(*) FROM tasks")
        #expect(rows == 3)
        #expect(subject.flusher.started == 2)
        #expect(subject.committer.flushFailure == EIO)
    }

    @Test func aWaitingWriterIsAnsweredOnlyAfterItsFlushReturns() throws {
        let subject = try Subject(writers: 2)
        let returned = Shared(false)
        let writer = WorkerThread {
            _ = try? subject.committer.perform(on: subject.connections[1]) { connection throws(SQLiteError) in
                try connection.execute("INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES ('u', 'w', 'w', 0, 1, 1)")
            }
            returned.update { $0 = true }
        }
        waitFor { subject.flusher.started == 1 }
        usleep(20_000)
        #expect(!returned.value)
        subject.flusher.release()
        writer.join()
        #expect(returned.value)
    }

    @Test func aFailedFlushIsAnErrorForAWaitingWriter() throws {
        let subject = try Subject(writers: 1)
        let failure = Shared<String?>(nil)
        let writer = WorkerThread {
            do {
                _ = try subject.committer.perform(on: subject.connections[0]) { connection throws(SQLiteError) in
                    try connection.execute("INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES ('u', 'w', 'w', 0, 1, 1)")
                }
            } catch {
                failure.update { $0 = "\((error as? SQLiteError)?.code ?? .error)" }
            }
        }
        waitFor { subject.flusher.started == 1 }
        subject.flusher.release(failing: true)
        writer.join()
        #expect(failure.value == "\(SQLiteResultCode.ioError)")
    }

    /// Hardening round 3, item 5: a sync page that moves its reader on is answered only after a
    /// flush that started after its read (the flush running meanwhile may not cover what it
    /// showed), and not at all if that flush fails; a page with nothing new waits for nothing.
    /// Before, a page was answered at once, showing a create whose writer was then told 503.
    @Test func aSyncPageThatMovesItsReaderWaitsForAFlushStartedAfterItsRead() throws {
        let subject = try Subject(writers: 1)
        let store = SQLiteTaskStore(connection: subject.connections[0], committer: subject.committer)
        #expect(store.deferDurability())
        _ = try store.create(userID: "u", state: TaskState(title: "committed, not flushed"), now: 1)
        let write = try #require(store.takeDurabilityWait())
        let answered = Shared<[String: Bool]>([:])
        let flusherThread = WorkerThread { write.whenDurable { durable in answered.update { $0["write"] = durable } } }
        waitFor { subject.flusher.started == 1 }
        // Read while the write's flush runs: the page shows the write.
        let page = try store.syncPage(userID: "u", since: nil, limit: 10)
        #expect(page.tasks.count == 1)
        let read = try #require(store.takeDurabilityWait())
        read.whenDurable { durable in answered.update { $0["page"] = durable } }
        subject.flusher.release()
        waitFor { answered.value["write"] != nil }
        usleep(20_000)
        #expect(answered.value == ["write": true])  // the flush that ran during the read does not answer it
        waitFor { subject.flusher.started == 2 }
        subject.flusher.release()
        flusherThread.join()
        #expect(answered.value == ["write": true, "page": true])
        // Nothing new after the cursor: nothing to wait for.
        _ = try store.syncPage(userID: "u", since: page.cursor, limit: 10)
        #expect(store.takeDurabilityWait() == nil)
        // A page whose flush fails is not answered as durable.
        _ = try store.create(userID: "u", state: TaskState(title: "its flush fails"), now: 2)
        _ = store.takeDurabilityWait()
        _ = try store.syncPage(userID: "u", since: page.cursor, limit: 10)
        let doomed = try #require(store.takeDurabilityWait())
        let failing = WorkerThread { doomed.whenDurable { durable in answered.update { $0["doomed page"] = durable } } }
        waitFor { subject.flusher.started == 3 }
        subject.flusher.release(failing: true)
        failing.join()
        #expect(answered.value["doomed page"] == false)
    }

    /// A store announces its change to live sync itself, once durable: not at the commit, and
    /// never when the flush fails (before, the server published from the flush's callback).
    @Test func aChangeIsAnnouncedOnceDurableAndNeverWhenItsFlushFails() throws {
        let subject = try Subject(writers: 1)
        let feed = LocalChangeFeed()
        let store = SQLiteTaskStore(connection: subject.connections[0], committer: subject.committer, changeFeed: feed)
        #expect(store.deferDurability())
        let alice = ChangeKey(userID: "alice")
        let before = feed.marker(of: alice)
        _ = try store.create(userID: "alice", state: TaskState(title: "durable"), now: 1)
        let write = try #require(store.takeDurabilityWait())
        #expect(feed.marker(of: alice) == before)  // committed, not yet durable
        let flusherThread = WorkerThread { write.whenDurable { _ in } }
        waitFor { subject.flusher.started == 1 }
        #expect(feed.marker(of: alice) == before)
        subject.flusher.release()
        flusherThread.join()
        let durable = feed.marker(of: alice)
        #expect(durable != before)
        _ = try store.create(userID: "alice", state: TaskState(title: "its flush fails"), now: 2)
        let doomed = try #require(store.takeDurabilityWait())
        let failing = WorkerThread { doomed.whenDurable { _ in } }
        waitFor { subject.flusher.started == 2 }
        subject.flusher.release(failing: true)
        failing.join()
        #expect(feed.marker(of: alice) == durable)
    }
}

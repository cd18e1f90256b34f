import Clocks
import SQLite
import Synchronization
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// One write, run inside a group's transaction on whichever connection leads the group.
typealias GroupedWrite = (SQLiteConnection) throws(SQLiteError) -> Void

/// Where a write's outcome waits for its writer: set on the leader's thread, read by the writer
/// after the group's answer (the mutex orders the two).
private final class OutcomeBox<Outcome> {
    var value: Outcome?
}

/// Group commit: the writes of a process's threads share transactions, and so flushes.
///
/// With `synchronous=FULL` every commit waits for the disk's flush (0.5–5 ms on a server's
/// block storage), and commits are serialised, so one write per transaction caps writes at one
/// flush each. Here a writer queues its write; the first one to find no leader leads: it takes
/// every write queued so far, runs them on its own connection in one `BEGIN IMMEDIATE … COMMIT`,
/// each inside a savepoint (a write whose statement fails is rolled back alone, and fails alone),
/// then answers every writer of the group, and hands the lead to the oldest writer still waiting.
/// While a group flushes, the next one gathers. No write is answered before the commit holding
/// it returns; if the commit fails, every write of the group fails with it.
///
/// Shared by the threads of one process (`@unchecked Sendable`: all state is behind `mutex`, and
/// a waiting writer's closure runs on the leader's thread while the writer is blocked).
final class GroupCommit: @unchecked Sendable {
    private final class Request {
        let write: GroupedWrite
        var result: Result<Void, SQLiteError>?
        /// Set when this writer is handed the lead while it still waits for its own write.
        var leads = false
        let condition: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)

        init(_ write: @escaping GroupedWrite) {
            self.write = write
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var queue: [Request] = []
    private var leading = false
    private let committedGroups = Atomic<Int>(0)
    /// Flushes the WAL after commits when SQLite does not (synchronous=NORMAL under it); nil
    /// when each COMMIT flushes (or nothing needs to, with `--synchronous normal`).
    private let flusher: WALFlusher?
    /// Groups committed, and the highest of them known to be on disk.
    private var committedSequence = 0
    private var durableSequence = 0
    private var flushing = false
    /// How long the last flush took: a slow disk makes the next flush wait a little for more
    /// commits to cover (PostgreSQL's `commit_delay`, set by the disk itself).
    private var lastFlushNanoseconds: UInt64 = 0
    private let flushed: UnsafeMutablePointer<pthread_cond_t>

    /// An empty committer; share one between the threads of a process. With `flusher`, commits
    /// are made durable by it, outside SQLite's write lock.
    init(flusher: WALFlusher? = nil) {
        self.flusher = flusher
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        flushed = .allocate(capacity: 1)
        pthread_cond_init(flushed, nil)
    }

    deinit {
        pthread_cond_destroy(flushed)
        flushed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Transactions committed so far (each holds one or more writes).
    var commits: Int { committedGroups.load(ordering: .relaxed) }

    /// Runs `write` in a group transaction and returns its outcome once that transaction has
    /// committed. `connection` is used if this call ends up leading a group.
    func perform<Outcome>(on connection: SQLiteConnection,
                          _ write: @escaping (SQLiteConnection) throws(SQLiteError) -> Outcome) throws(SQLiteError) -> Outcome {
        let box = OutcomeBox<Outcome>()
        try perform(on: connection, Request { connection throws(SQLiteError) in box.value = try write(connection) })
        // The write succeeded (else `perform` threw), so it set its outcome.
        return box.value!
    }

    private func perform(on connection: SQLiteConnection, _ request: Request) throws(SQLiteError) {
        pthread_mutex_lock(mutex)
        queue.append(request)
        if leading {
            while request.result == nil, !request.leads {
                pthread_cond_wait(request.condition, mutex)
            }
        } else {
            leading = true
            request.leads = true
        }
        if request.result == nil {
            lead(on: connection, until: request)
        }
        pthread_mutex_unlock(mutex)
        return try request.result!.get()
    }

    /// Runs the group of everything queued (`mine` included), passes the lead on, waits until
    /// the group is durable, then answers its writers. Called and returns with the mutex held;
    /// runs the transaction and the flush without it, so writers keep queueing meanwhile.
    private func lead(on connection: SQLiteConnection, until mine: Request) {
        let group = queue
        queue.removeAll(keepingCapacity: true)
        pthread_mutex_unlock(mutex)
        var results = Self.run(group, on: connection)
        let committed = results.contains { if case .success = $0 { return true } else { return false } }
        if committed { committedGroups.add(1, ordering: .relaxed) }
        pthread_mutex_lock(mutex)
        // The next group may run (and commit) while this one is flushed.
        if let next = queue.first {
            next.leads = true
            pthread_cond_signal(next.condition)
        } else {
            leading = false
        }
        if committed, let flusher {
            committedSequence += 1
            let sequence = committedSequence
            var failure: Int32 = 0
            while durableSequence < sequence, failure == 0 {
                if flushing {
                    pthread_cond_wait(flushed, mutex)
                    continue
                }
                // One flush covers every group committed before it starts. On a disk whose flush
                // is slow, the writers just answered are back with new writes within a fraction
                // of it: waiting a quarter of a flush for them lets one flush cover two groups.
                flushing = true
                let pause = lastFlushNanoseconds >= 400_000 ? min(lastFlushNanoseconds / 4, 2_000_000) : 0
                pthread_mutex_unlock(mutex)
                if pause > 0 { usleep(useconds_t(pause / 1000)) }
                pthread_mutex_lock(mutex)
                let target = committedSequence
                pthread_mutex_unlock(mutex)
                let began = MonotonicClock.nanoseconds()
                failure = flusher.flush()
                let took = MonotonicClock.nanoseconds() - began
                pthread_mutex_lock(mutex)
                lastFlushNanoseconds = took
                if failure == 0 { durableSequence = max(durableSequence, target) }
                flushing = false
                pthread_cond_broadcast(flushed)
            }
            if failure != 0 {
                // Committed but not known durable: not acknowledged (the client sees 503).
                let error = SQLiteError(code: .ioError, message: "flushing the WAL failed: \(String(cString: strerror(failure)))")
                results = results.map { if case .failure = $0 { return $0 } else { return .failure(error) } }
            }
        }
        for (request, result) in zip(group, results) {
            request.result = result
            if request !== mine { pthread_cond_signal(request.condition) }
        }
    }

    /// One transaction for `group`, each write in its own savepoint.
    private static func run(_ group: [Request], on connection: SQLiteConnection) -> [Result<Void, SQLiteError>] {
        do {
            try connection.cachedStatement("BEGIN IMMEDIATE").run()
        } catch {
            return group.map { _ in .failure(error) }
        }
        var results: [Result<Void, SQLiteError>] = []
        results.reserveCapacity(group.count)
        for request in group {
            do {
                try connection.cachedStatement("SAVEPOINT grouped_write").run()
            } catch {
                results.append(.failure(error))
                continue
            }
            do {
                try request.write(connection)
                try connection.cachedStatement("RELEASE grouped_write").run()
                results.append(.success(()))
            } catch {
                // Undo this write alone; the others of the group stand.
                try? connection.cachedStatement("ROLLBACK TO grouped_write").run()
                try? connection.cachedStatement("RELEASE grouped_write").run()
                results.append(.failure(error))
            }
        }
        do {
            try connection.cachedStatement("COMMIT").run()
        } catch {
            try? connection.cachedStatement("ROLLBACK").run()
            return results.map { result in
                if case .failure = result { return result }
                return .failure(error)
            }
        }
        return results
    }
}

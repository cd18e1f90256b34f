import SQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one grouped write produced.
enum WriteOutcome: Sendable {
    /// The row a create or update returned (nil: no such task of that user).
    case task(StoredTask?)
    /// Whether a delete found its row.
    case deleted(Bool)
    /// A write with nothing to report (the health probe).
    case done
}

/// One write, run inside a group's transaction on whichever connection leads the group.
typealias GroupedWrite = (SQLiteConnection) throws(SQLiteError) -> WriteOutcome

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
        var result: Result<WriteOutcome, SQLiteError>?
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

    /// An empty committer; share one between the threads of a process.
    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Transactions committed so far (each holds one or more writes).
    var commits: Int { committedGroups.load(ordering: .relaxed) }

    /// Runs `write` in a group transaction and returns once that transaction has committed.
    /// `connection` is used if this call ends up leading a group.
    func perform(on connection: SQLiteConnection, _ write: @escaping GroupedWrite) throws(SQLiteError) -> WriteOutcome {
        let request = Request(write)
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

    /// Runs groups until `mine` is answered, then passes the lead on. Called and returns with
    /// the mutex held; runs the transactions without it, so writers keep queueing meanwhile.
    private func lead(on connection: SQLiteConnection, until mine: Request) {
        while mine.result == nil {
            let group = queue
            queue.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(mutex)
            let results = Self.run(group, on: connection)
            if results.contains(where: { if case .success = $0 { return true } else { return false } }) {
                committedGroups.add(1, ordering: .relaxed)
            }
            pthread_mutex_lock(mutex)
            for (request, result) in zip(group, results) {
                request.result = result
                if request !== mine { pthread_cond_signal(request.condition) }
            }
        }
        if let next = queue.first {
            next.leads = true
            pthread_cond_signal(next.condition)
        } else {
            leading = false
        }
    }

    /// One transaction for `group`, each write in its own savepoint.
    private static func run(_ group: [Request], on connection: SQLiteConnection) -> [Result<WriteOutcome, SQLiteError>] {
        do {
            try connection.cachedStatement("BEGIN IMMEDIATE").run()
        } catch {
            return group.map { _ in .failure(error) }
        }
        var results: [Result<WriteOutcome, SQLiteError>] = []
        results.reserveCapacity(group.count)
        for request in group {
            do {
                try connection.cachedStatement("SAVEPOINT grouped_write").run()
            } catch {
                results.append(.failure(error))
                continue
            }
            do {
                let outcome = try request.write(connection)
                try connection.cachedStatement("RELEASE grouped_write").run()
                results.append(.success(outcome))
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

import Locks
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
///
/// Durability is separate from the commit (with a `WALFlusher`; SQLite itself then runs at
/// `synchronous=NORMAL`): each committed group gets the next sequence number, and one flush of
/// the WAL makes every group committed before it durable. A writer either waits for its group's
/// flush (`perform(…, waitForDurability: true)`, the default) or takes the sequence number and
/// answers its client later, from `whenDurable` (the service parks the request meanwhile, so a
/// write waiting for the disk holds no thread). Whoever asks for a durability nobody is yet
/// flushing for does the flush, then completes every wait it covered, and flushes again while
/// groups committed meanwhile are waited for: one thread at a time waits on the disk. No write
/// is acknowledged before a flush that covers it returns; if that flush fails, every write of
/// the groups it covered fails with it (`durable == false`).
///
/// Shared by the threads of one process (`@unchecked Sendable`: all state is in `state`, behind
/// its lock; the flusher is used by one thread at a time, the one whose turn `flushing` marks;
/// and a waiting writer's closure runs on the leader's thread while the writer sleeps).
final class GroupCommit: @unchecked Sendable {
    /// One writer's write, from its queueing to its answer. Its fields change under the state's
    /// lock; its writer reads them once woken.
    private final class Request {
        let write: GroupedWrite
        var result: Result<Void, SQLiteError>?
        /// The group's sequence number once it committed (with a flusher).
        var sequence: Int?
        /// Set when this writer is handed the lead while it still waits for its own write.
        var leads = false
        /// Where its writer sleeps until answered or handed the lead.
        let woken = LockCondition()

        init(_ write: @escaping GroupedWrite) {
            self.write = write
        }
    }

    /// Someone waiting for group `sequence` to be flushed.
    private struct DurabilityWaiter {
        let sequence: Int
        let body: @Sendable (Bool) -> Void
    }

    private struct State {
        var queue: [Request] = []
        var leading = false
        /// Groups committed, and the highest of them whose flush has returned (well or not).
        var committedSequence = 0
        var settledSequence = 0
        /// The first group covered by a failed flush, once one failed. A failure is permanent:
        /// on Linux a failed `fdatasync` may drop the dirty pages it could not write and let the
        /// next flush succeed without them, and SQLite's WAL recovery stops at the first bad
        /// frame, so a write committed after it could vanish on power loss however well its own
        /// flush went. From then on no group is durable and no write is run (PostgreSQL panics
        /// for the same reason).
        var failedFrom: Int?
        /// The errno of that failed flush.
        var failedErrno: Int32 = 0
        var waiters: [DurabilityWaiter] = []
        /// Set while a thread flushes (and completes the waits it covered).
        var flushing = false
    }

    private let state = Locked(State())
    private let committedGroups = Atomic<Int>(0)
    /// Flushes the WAL after commits when SQLite does not (synchronous=NORMAL under it); nil
    /// when each COMMIT flushes (or nothing needs to, with `--synchronous normal`).
    private let flusher: (any LogFlusher)?

    /// An empty committer; share one between the threads of a process. With `flusher`, commits
    /// are made durable by it, outside SQLite's write lock.
    init(flusher: (any LogFlusher)? = nil) {
        self.flusher = flusher
    }

    /// Transactions committed so far (each holds one or more writes).
    var commits: Int { committedGroups.load(ordering: .relaxed) }

    /// Whether commits need a flush of their own before they are durable (and so can be
    /// answered later, from `whenDurable`).
    var defersFlushes: Bool { flusher != nil }

    /// Runs `write` in a group transaction and returns its outcome once that transaction has
    /// committed and, with `waitForDurability`, once it is durable. Without it, the returned
    /// sequence (nil when there is nothing to wait for) must be passed to `whenDurable` before
    /// the write is acknowledged. `connection` is used if this call ends up leading a group.
    func perform<Outcome>(on connection: SQLiteConnection, waitForDurability: Bool = true,
                          _ write: @escaping (SQLiteConnection) throws(SQLiteError) -> Outcome) throws(SQLiteError) -> (outcome: Outcome, sequence: Int?) {
        let box = OutcomeBox<Outcome>()
        let sequence = try perform(on: connection, Request { connection throws(SQLiteError) in box.value = try write(connection) })
        if waitForDurability, let sequence {
            guard waitUntilDurable(sequence) else {
                throw SQLiteError(code: .ioError, message: "flushing the WAL failed: the write is committed but not known durable")
            }
            // The write succeeded (else `perform` threw), so it set its outcome.
            return (box.value!, nil)
        }
        return (box.value!, sequence)
    }

    /// A sequence whose flush covers every commit that a read already finished could have seen:
    /// a group of no writes, numbered now, so the flush that settles it starts after this call,
    /// and a flush of the WAL covers every frame written before it began, whichever process of
    /// the database wrote it. What a sync page shows waits for it (a change shown, then lost to
    /// a failed flush, would have its number reused). Nil without a flusher.
    func sequenceCoveringReads() -> Int? {
        guard flusher != nil else { return nil }
        return state.withLock { state in
            state.committedSequence += 1
            return state.committedSequence
        }
    }

    /// The error of every write once a flush failed.
    static let flushFailedError = SQLiteError(code: .ioError, message: "an earlier flush of the WAL failed: this process takes no more writes")

    /// The errno of the flush that failed, once one did (for good: see `State.failedFrom`); nil before.
    var flushFailure: Int32? {
        state.withLock { $0.failedFrom == nil ? nil : $0.failedErrno }
    }

    private func perform(on connection: SQLiteConnection, _ request: Request) throws(SQLiteError) -> Int? {
        let admitted = state.withLock { state -> Bool in
            guard state.failedFrom == nil else { return false }
            state.queue.append(request)
            if !state.leading {
                state.leading = true
                request.leads = true
            }
            return true
        }
        guard admitted else { throw Self.flushFailedError }
        // A follower sleeps until its group's leader answers it, or hands it the lead.
        let leadsNow = state.withLock(waitingOn: request.woken, until: { _ in request.result != nil || request.leads }) { _ in
            request.result == nil
        }
        if leadsNow { lead(on: connection, until: request) }
        try request.result!.get()
        return request.sequence
    }

    /// Runs the group of everything queued (`mine` included), passes the lead on, numbers the
    /// group and answers its writers. The transaction runs outside the lock, so writers keep
    /// queueing meanwhile.
    private func lead(on connection: SQLiteConnection, until mine: Request) {
        let group = state.withLock { state -> [Request] in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        let results = Self.run(group, on: connection)
        let committed = results.contains { if case .success = $0 { return true } else { return false } }
        if committed { committedGroups.add(1, ordering: .relaxed) }
        state.withLock { state in
            // The next group may run (and commit) while this one is flushed.
            if let next = state.queue.first {
                next.leads = true
                next.woken.signal()
            } else {
                state.leading = false
            }
            var sequence: Int?
            if committed, flusher != nil {
                state.committedSequence += 1
                sequence = state.committedSequence
            }
            for (request, result) in zip(group, results) {
                request.result = result
                if case .success = result { request.sequence = sequence }
                if request !== mine { request.woken.signal() }
            }
        }
    }

    /// Calls `body` once group `sequence` is durable (true) or its flush failed (false): at once
    /// when that is known, otherwise from the thread whose flush covers it — this one, when no
    /// flush is running.
    func whenDurable(_ sequence: Int, _ body: @escaping @Sendable (_ durable: Bool) -> Void) {
        enum Next { case answer(Bool), queued, flush }
        let next = state.withLock { state -> Next in
            if sequence <= state.settledSequence || state.failedFrom != nil {
                return .answer(state.failedFrom.map { sequence < $0 } ?? true)
            }
            state.waiters.append(DurabilityWaiter(sequence: sequence, body: body))
            guard !state.flushing else { return .queued }
            state.flushing = true
            return .flush
        }
        switch next {
        case .answer(let durable): body(durable)
        case .queued: break
        case .flush: flushUntilSettled()
        }
    }

    /// Blocks until group `sequence` is durable (true) or its flush failed (false).
    private func waitUntilDurable(_ sequence: Int) -> Bool {
        let outcome = BoundedChannel<Bool>(capacity: 1)
        whenDurable(sequence) { durable in _ = outcome.send(durable) }
        return outcome.receive() ?? false
    }

    /// Flushes until every group someone waits for is settled, completing the waits each flush
    /// covered (outside the lock: a completion writes a response). Run only by the thread that
    /// set `flushing`; it clears it, in the same hold of the lock that finds no one waiting.
    private func flushUntilSettled() {
        guard let flusher else {
            state.withLock { $0.flushing = false }
            return
        }
        while true {
            let target = state.withLock { state -> Int? in
                guard !state.waiters.isEmpty else {
                    state.flushing = false
                    return nil
                }
                return state.committedSequence
            }
            guard let target else { return }
            let failure = flusher.flush()
            let (covered, durable) = state.withLock { state -> ([DurabilityWaiter], Bool) in
                if failure != 0, state.failedFrom == nil {
                    state.failedFrom = state.settledSequence + 1
                    state.failedErrno = failure
                }
                state.settledSequence = target
                // After a failure every wait is settled as failed, those of later groups included.
                let durable = state.failedFrom == nil
                let covered = durable ? state.waiters.filter { $0.sequence <= target } : state.waiters
                state.waiters.removeAll { !durable || $0.sequence <= target }
                return (covered, durable)
            }
            for waiter in covered { waiter.body(durable) }
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

/// The durability of a store's writes up to group `sequence`: what a parked request waits for.
/// Once durable, the changes they made are announced to live sync (`feed`), before the request
/// is answered; if the flush fails, they never are.
struct GroupDurabilityWait: DurabilityWait {
    let committer: GroupCommit
    let sequence: Int
    let health: WriteHealth
    /// Whose tasks the writes changed.
    let changes: [ChangeKey]
    let feed: (any ChangeFeed)?

    func whenDurable(_ body: @escaping @Sendable (Bool) -> Void) {
        committer.whenDurable(sequence) { [health, changes, feed] durable in
            // A failed flush is a failed write for `/health`, as when the writer waited for it.
            if !durable { health.record(writeSucceeded: false) }
            if durable, let feed { changes.forEach(feed.publish) }
            body(durable)
        }
    }
}

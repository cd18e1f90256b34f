import Clocks
import Locks
import PostgreSQL
import TaskModel

/// The reads a process offered its standby (`--read-database`) and where they went, shared by
/// its stores; it says in the log when the standby stops answering and when it is back.
final class StandbyReads: Sendable {
    private struct State {
        var counts = ReplicaReadCounts()
        /// The standby failed the last read offered to it.
        var down = false
    }

    private let state = Locked(State())
    private let warn: @Sendable (String) -> Void
    /// The standby's connection string without its password, for the log.
    let displayName: String

    /// Counts for the standby `displayName`, telling `warn` of its outages.
    init(displayName: String, warn: @escaping @Sendable (String) -> Void) {
        self.displayName = displayName
        self.warn = warn
    }

    /// The counts so far.
    var counts: ReplicaReadCounts { state.withLock { $0.counts } }

    /// The standby served a read.
    func served() {
        let recovered = state.withLock { state in
            state.counts.served += 1
            defer { state.down = false }
            return state.down
        }
        if recovered { warn("read database \(displayName) answers again: reads that carry a consistency token go to it") }
    }

    /// The standby had not replayed the change a read needs: the primary served it.
    func behind() {
        state.withLock { $0.counts.behind += 1 }
    }

    /// The standby could not serve a read (`error`): the primary served it.
    func unavailable(_ error: StorageError) {
        let wentDown = state.withLock { state in
            state.counts.unavailable += 1
            defer { state.down = true }
            return !state.down
        }
        if wentDown { warn("read database \(displayName) failed a read (\(error.message)); the primary serves reads until it answers") }
    }
}

/// One thread's connection to the standby, and the check that makes a read there safe: in the
/// read's own round trip, before it, the user's last change number as the standby shows it. A
/// later statement's snapshot holds at least as much (a standby only moves forward), so when the
/// number reaches the one the read needs, every result of the round trip holds that change; when
/// it does not, the results are dropped and the primary serves the read.
///
/// Not Sendable: it owns one thread's connection.
final class PostgresStandbyReader {
    private let connectionString: String
    private let statementMode: PostgresStatementMode
    private let preparedStatementLimit: Int
    private let reads: StandbyReads
    private var connection: PostgresConnection?
    private var backoff = ConnectionBackoff()

    typealias Step = PostgresConnection.Step

    /// The user's last change number (the user in parameter `user`), 0 before their first.
    static func lastChange(user: Int = 1) -> String {
        "SELECT coalesce((SELECT last_change FROM task_sync WHERE user_id = $\(user)), 0)"
    }

    /// The check before a read: the user's last change number (`$1` the user).
    private static let userLastChange = lastChange()

    /// A reader of the standby `connectionString`, connecting when first used.
    init(connectionString: String, statementMode: PostgresStatementMode, preparedStatementLimit: Int, reads: StandbyReads) {
        self.connectionString = connectionString
        self.statementMode = statementMode
        self.preparedStatementLimit = preparedStatementLimit
        self.reads = reads
    }

    /// The results of `steps` (reads of `userID`, after the owner is set) from the standby, when
    /// it shows the user's change `floor`; nil when the primary must serve them (the standby is
    /// behind, unreachable, or failed). With `snapshot`, the round trip is one repeatable-read
    /// transaction (a sync page: its statements must agree with each other).
    func read(_ userID: String, _ steps: [Step], atLeast floor: Int64, snapshot: Bool) -> [PostgresResult]? {
        let all = (snapshot ? [Step("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")] : [])
            + [Step(PostgresSchema.openTransaction, [userID]), Step(Self.userLastChange, [userID])] + steps
            + (snapshot ? [Step("COMMIT")] : [])
        // Whatever fails (a lost server, a recovery conflict), the primary can serve the read. A
        // connection that is still up is kept: one a pooler turned to unnamed statements stays so.
        let connection: PostgresConnection
        let results: [PostgresResult]
        do {
            connection = try liveConnection()
        } catch {
            reads.unavailable(error)
            return nil
        }
        do {
            results = try connection.pipeline(all)
        } catch {
            if error.connectionLost { self.connection = nil } else { connection.rollbackIfNeeded() }
            reads.unavailable(StorageError(error))
            return nil
        }
        let checked = snapshot ? 2 : 1
        guard results[checked].int64(row: 0, column: 0) >= floor else {
            reads.behind()
            return nil
        }
        reads.served()
        return Array(results[(checked + 1)..<(checked + 1 + steps.count)])
    }

    /// The connection, made now if there is none and the backoff allows.
    private func liveConnection() throws(StorageError) -> PostgresConnection {
        if let connection, connection.isAliveAfterIdle() { return connection }
        connection = nil
        let remaining = backoff.remaining()
        guard remaining == 0 else {
            throw StorageError(.unavailable, "not tried again for \(remaining / 1_000_000) ms after a failed connection")
        }
        do {
            let fresh = try PostgresTaskStore.serving(connectionString, preparedStatementLimit: preparedStatementLimit,
                                                      statementMode: statementMode)
            backoff.succeeded()
            connection = fresh
            return fresh
        } catch {
            backoff.failed()
            throw error
        }
    }
}

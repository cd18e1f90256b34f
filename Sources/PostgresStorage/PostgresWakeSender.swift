import Locks
import PostgreSQL
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Tells every host that users' tasks changed, after the writes committed, from a thread of its
/// own: one `pg_notify` carries every user changed since the previous one went out.
///
/// Why not in the writing transaction: PostgreSQL takes one lock for the whole database at the
/// commit of a transaction that ran `NOTIFY` and holds it through the commit's WAL flush, so such
/// commits cannot share a flush; a NOTIFY in every write made every write pay a flush of its
/// own. Here the writers' transactions carry no NOTIFY (their `todo.wake_after_commit` setting
/// keeps schema 6's trigger quiet) and commit together; this thread's transaction has only the
/// notification, commits without waiting for its flush (`synchronous_commit` off for it alone:
/// a notification is never durable anyway), and while it is out, the next users gather. So a
/// process sends at most one notification per round trip to the server, for any number of users.
///
/// Each payload starts with this process's `origin`, so its own listener skips what it sent:
/// the process woke its own waiters when the write committed (`PostgresChangeFeed.publish`).
/// When the server cannot be reached, the users wait here (a set: each once) and go with the next
/// notification that can be sent, tried every 100 ms to 1 s.
final class PostgresWakeSender: Sendable {
    /// The largest payload PostgreSQL takes is 8,000 bytes.
    static let payloadLimit = 7_999

    /// This process's mark at the start of each payload (16 hex digits, random).
    let origin: String

    private struct Outbox {
        /// Users changed and not yet told, as `ChangeKey` values.
        var pending: Set<UInt64> = []
        var stopping = false
        var thread: WorkerThread?
    }

    private let outbox = Locked(Outbox())
    private let arrived = LockCondition()
    /// Makes the sending connection (tests make it fail).
    private let connect: @Sendable () throws(PostgresError) -> PostgresConnection
    private let warn: @Sendable (String) -> Void

    /// A sender that connects with `connectionString` when it first has something to send.
    convenience init(connectionString: String, statementMode: PostgresStatementMode, warn: @escaping @Sendable (String) -> Void) {
        self.init(warn: warn) { () throws(PostgresError) in
            try PostgresConnection(connectionString: connectionString, preparedStatementLimit: 8, statementMode: statementMode)
        }
    }

    /// A sender that connects with `connect`.
    init(warn: @escaping @Sendable (String) -> Void, connect: @escaping @Sendable () throws(PostgresError) -> PostgresConnection) {
        self.connect = connect
        self.warn = warn
        origin = ChangeKey(value: UInt64.random(in: 1...UInt64.max)).hex
    }

    deinit {
        let thread = outbox.withLock { outbox -> WorkerThread? in
            outbox.stopping = true
            return outbox.thread
        }
        arrived.signal()
        thread?.join()
    }

    /// Announces a committed change of `key`'s user to every listening host, soon. The first
    /// call starts the sending thread.
    func send(_ key: ChangeKey) {
        let (outbox, arrived, connect, warn, origin) = (outbox, arrived, connect, warn, origin)
        outbox.withLock { box in
            box.pending.insert(key.value)
            guard box.thread == nil, !box.stopping else { return }
            box.thread = WorkerThread { Self.run(outbox: outbox, arrived: arrived, origin: origin, warn: warn, connect: connect) }
        }
        arrived.signal()
    }

    /// The sender thread: takes every pending user, sends them, and again, until stopped with
    /// nothing pending (or nothing that can be sent).
    private static func run(outbox: Locked<Outbox>, arrived: LockCondition, origin: String, warn: @Sendable (String) -> Void,
                            connect: () throws(PostgresError) -> PostgresConnection) {
        var connection: PostgresConnection?
        var backoff: UInt64 = 0
        var failureLogged = false
        while true {
            let (keys, stopping) = outbox.withLock(waitingOn: arrived, until: { !$0.pending.isEmpty || $0.stopping }) { box in
                defer { box.pending.removeAll(keepingCapacity: true) }
                return (Array(box.pending), box.stopping)
            }
            if keys.isEmpty { return }
            do throws(PostgresError) {
                let sending: PostgresConnection
                if let connection {
                    sending = connection
                } else {
                    sending = try connect()
                }
                connection = sending
                _ = try sending.pipeline(steps(notifying: keys, origin: origin))
                if failureLogged { warn("live sync: telling other hosts of changes works again") }
                failureLogged = false
                backoff = 0
            } catch {
                if error.connectionLost { connection = nil }
                if stopping { return }  // the process is going: its waiters are answered anyway
                outbox.withLock { $0.pending.formUnion(keys) }
                if !failureLogged {
                    warn("live sync: cannot tell other hosts of changes (retrying; their waits end at their timeout meanwhile): \(error)")
                }
                failureLogged = true
                backoff = min(max(backoff * 2, 100_000_000), 1_000_000_000)
                usleep(useconds_t(backoff / 1_000))
            }
        }
    }

    /// One implicit transaction: `synchronous_commit` off for it alone, then one `pg_notify` per
    /// payload of at most `payloadLimit` bytes: `origin:key,key,…`.
    static func steps(notifying keys: [UInt64], origin: String) -> [PostgresConnection.Step] {
        var steps = [PostgresConnection.Step("SELECT set_config('synchronous_commit', 'off', true)")]
        let perPayload = (payloadLimit - origin.utf8.count - 1) / 17
        var start = 0
        while start < keys.count {
            let end = min(start + perPayload, keys.count)
            let payload = origin + ":" + keys[start..<end].map { ChangeKey(value: $0).hex }.joined(separator: ",")
            steps.append(.init("SELECT pg_notify($1, $2)", [PostgresChangeFeed.channel, payload]))
            start = end
        }
        return steps
    }
}

import Locks
import PostgreSQL
import Synchronization
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// The change feed of a PostgreSQL database, across hosts: every commit that moves a user's
/// `task_sync.last_change` notifies channel `todo_task_changes` with the user's `ChangeKey` as 16
/// hex digits (a trigger, schema version 5: whichever host or tool commits, and only once it has
/// committed). Each process listens on one connection of its own, on a thread of its own (so a
/// server that is slow to reach never delays the wait room's deadlines or a stop); what it
/// hears moves the markers of a `LocalChangeFeed`, on which `awaitChange` sleeps.
///
/// After the listening connection is lost, it is made again (every second until it works), and
/// then every marker moves: a change notified meanwhile was not heard, so every waiter reads
/// again. Meanwhile waiters keep waiting (reading during the outage would only fail).
public final class PostgresChangeFeed: ChangeFeed {
    /// The notification channel (and the trigger's).
    static let channel = "todo_task_changes"

    private let local = LocalChangeFeed()
    /// Moves when the listener's first attempt to connect ended (what `startListening` waits for).
    private let firstAttempt = LocalChangeFeed()
    private let connectionString: String
    private let warn: @Sendable (String) -> Void
    private let stopping = StopFlag()
    /// Started by `startListening`, or else the first `awaitChange` (a feed nobody waits on needs no connection).
    private let listener = Locked<WorkerThread?>(nil)

    init(connectionString: String, warn: @escaping @Sendable (String) -> Void) {
        self.connectionString = connectionString
        self.warn = warn
    }

    deinit {
        stopping.raised.store(true, ordering: .sequentiallyConsistent)
        listener.withLock { $0 }?.join()
    }

    public func marker(of key: ChangeKey) -> UInt64 {
        local.marker(of: key)
    }

    /// Nothing to do: the database's trigger announces every commit, to every host.
    public func publish(_ key: ChangeKey) {}

    public func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
        // Started here when nobody called `startListening` (a feed only waited on); the thread
        // connects, so an unreachable server never delays the caller.
        startListener()
        return local.awaitChange(after: seen, timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Starts the listener and returns once its first attempt to connect and `LISTEN` ended (at
    /// most `connect_timeout`, 5 s), before the process serves: no waiter's marker then predates
    /// the listening connection, and none is woken by its making. A server that cannot be reached
    /// now is tried again every second, as after a loss.
    public func startListening() {
        startListener()
        _ = firstAttempt.awaitChange(after: 0, timeoutNanoseconds: 6_000_000_000)
    }

    private func startListener() {
        listener.withLock { thread in
            guard thread == nil else { return }
            let (local, firstAttempt, connectionString, warn, stopping) = (local, firstAttempt, connectionString, warn, stopping)
            thread = WorkerThread {
                Self.listen(local: local, firstAttempt: firstAttempt, connectionString: connectionString, warn: warn, stopping: stopping)
            }
        }
    }

    /// The listener thread: connect and `LISTEN` (again after every loss, once a second), and turn
    /// each notification into a publication in `local`, until `stopping`. `firstAttempt` moves
    /// after every attempt to connect, made or failed.
    private static func listen(local: LocalChangeFeed, firstAttempt: LocalChangeFeed, connectionString: String,
                               warn: @Sendable (String) -> Void, stopping: StopFlag) {
        var connection: PostgresConnection?
        var failureLogged = false
        while !stopping.raised.load(ordering: .relaxed) {
            guard let listening = connection else {
                do {
                    let fresh = try PostgresConnection(connectionString: connectionString)
                    try fresh.execute("LISTEN \(channel)")
                    connection = fresh
                    if failureLogged { warn("live sync: listening to PostgreSQL again") }
                    failureLogged = false
                    // What was notified before this connection listened is unknown: everyone reads again.
                    local.publishEverything()
                } catch {
                    if !failureLogged {
                        warn("live sync: cannot listen on PostgreSQL (retrying every second; waits end at their timeout meanwhile): \(error)")
                    }
                    failureLogged = true
                }
                // An attempt ended, made or failed: `startListening` waits no longer.
                firstAttempt.publishEverything()
                if connection == nil {
                    for _ in 0..<10 where !stopping.raised.load(ordering: .relaxed) { usleep(100_000) }
                }
                continue
            }
            guard let notifications = listening.awaitNotifications(timeoutMilliseconds: 200) else {
                connection = nil
                failureLogged = true
                warn("live sync: the listening connection to PostgreSQL was lost; reconnecting")
                continue
            }
            for notification in notifications where notification.channel == channel {
                if let key = ChangeKey(hex: notification.payload) { local.publish(key) }
            }
        }
    }
}

/// Tells the listener thread to end (the feed is gone).
private final class StopFlag: Sendable {
    let raised = Atomic<Bool>(false)
}

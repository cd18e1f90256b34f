import Locks
import PostgreSQL
import Synchronization
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// The change feed of a PostgreSQL database, across hosts. A worker's write moves its user's
/// marker here as soon as it committed (`publish`), and the process's `PostgresWakeSender` tells
/// the other hosts after it, many users in one notification on channel `todo_task_changes`
/// (`origin:key,key,…`). Any other commit that moves a user's `task_sync.last_change` (psql,
/// `copy`, an older build) notifies the channel itself with the user's `ChangeKey` as 16 hex
/// digits (schema 6's trigger: whichever host or tool commits, once it has committed).
///
/// Each process listens on one connection of its own, on a thread of its own (so a server that
/// is slow to reach never delays the wait room's deadlines or a stop); what it hears, but for
/// what it sent itself, moves the markers of a `LocalChangeFeed`, on which `awaitChange` sleeps.
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
    /// Tells the other hosts what this process's writes changed.
    private let sender: PostgresWakeSender

    /// A feed that listens with `connectionString`, and sends through `sender`.
    init(connectionString: String, sender: PostgresWakeSender, warn: @escaping @Sendable (String) -> Void) {
        self.connectionString = connectionString
        self.sender = sender
        self.warn = warn
    }

    deinit {
        stopping.raised.store(true, ordering: .sequentiallyConsistent)
        listener.withLock { $0 }?.join()
    }

    public func marker(of key: ChangeKey) -> UInt64 {
        local.marker(of: key)
    }

    /// Wakes this process's waiters for `key` at once, and tells the other hosts soon after.
    public func publish(_ key: ChangeKey) {
        local.publish(key)
        sender.send(key)
    }

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
            let origin = sender.origin
            thread = WorkerThread {
                Self.listen(local: local, firstAttempt: firstAttempt, connectionString: connectionString, origin: origin,
                            warn: warn, stopping: stopping)
            }
        }
    }

    /// The listener thread: connect and `LISTEN` (again after every loss, once a second), and turn
    /// each notification not sent by `origin` into publications in `local`, until `stopping`.
    /// `firstAttempt` moves after every attempt to connect, made or failed.
    private static func listen(local: LocalChangeFeed, firstAttempt: LocalChangeFeed, connectionString: String, origin: String,
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
                for key in keys(in: notification.payload, unlessSentBy: origin) { local.publish(key) }
            }
        }
    }

    /// The users a notification's payload names: one key (the trigger's), or `origin:key,key,…`
    /// (a `PostgresWakeSender`'s), none when `origin` is `ownOrigin` or the payload is neither.
    static func keys(in payload: [UInt8], unlessSentBy ownOrigin: String) -> [ChangeKey] {
        if let key = ChangeKey(hex: payload) { return [key] }
        let parts = payload.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 16, !parts[0].elementsEqual(ownOrigin.utf8) else { return [] }
        return parts[1].split(separator: UInt8(ascii: ",")).compactMap { ChangeKey(hex: $0) }
    }
}

/// Tells the listener thread to end (the feed is gone).
private final class StopFlag: Sendable {
    let raised = Atomic<Bool>(false)
}

import Clocks
import PostgreSQL
import TaskModel

/// The change feed of a PostgreSQL database, across hosts: every commit that moves a user's
/// `task_sync.last_change` notifies channel `todo_task_changes` with the user's `ChangeKey` as 16
/// hex digits (a trigger, schema version 5: whichever host or tool commits, and only once it has
/// committed). Each process listens on one connection of its own, read by the one thread that
/// calls `awaitChange`; what it hears moves the markers of a `LocalChangeFeed`.
///
/// After the listening connection is lost, it is made again (every second until it works), and
/// then every marker moves: a change notified meanwhile was not heard, so every waiter reads again. `@unchecked Sendable`: the connection is touched only by the thread calling
/// `awaitChange` (documented as the single caller); `marker` and `publish` touch only the local feed.
public final class PostgresChangeFeed: ChangeFeed, @unchecked Sendable {
    /// The notification channel (and the trigger's).
    static let channel = "todo_task_changes"
    private static let retryNanoseconds: UInt64 = 1_000_000_000

    private let connectionString: String
    private let local = LocalChangeFeed()
    private let warn: @Sendable (String) -> Void
    private var listener: PostgresConnection?
    private var nextAttempt: UInt64 = 0
    private var failureLogged = false

    init(connectionString: String, warn: @escaping @Sendable (String) -> Void) {
        self.connectionString = connectionString
        self.warn = warn
    }

    public func marker(of key: ChangeKey) -> UInt64 {
        local.marker(of: key)
    }

    /// Nothing to do: the database's trigger announces every commit, to every host.
    public func publish(_ key: ChangeKey) {}

    public func awaitChange(after seen: UInt64, timeoutNanoseconds: UInt64) -> UInt64 {
        let deadline = MonotonicClock.nanoseconds() &+ timeoutNanoseconds
        if listener == nil { connect() }
        guard let listener else {
            // Not listening: sleep until the next attempt (or the deadline), as the local feed.
            let pause = min(timeoutNanoseconds, nextAttempt &- min(nextAttempt, MonotonicClock.nanoseconds()))
            return local.awaitChange(after: seen, timeoutNanoseconds: pause)
        }
        let current = local.awaitChange(after: seen, timeoutNanoseconds: 0)
        if current != seen { return current }
        let milliseconds = Int32(clamping: (deadline &- min(deadline, MonotonicClock.nanoseconds()) + 999_999) / 1_000_000)
        guard let notifications = listener.awaitNotifications(timeoutMilliseconds: milliseconds) else {
            // Waiters keep waiting meanwhile (reading now would meet the same outage); once
            // listening again, every one reads again (`connect`).
            self.listener = nil
            warn("live sync: the listening connection to PostgreSQL was lost; reconnecting")
            return local.awaitChange(after: seen, timeoutNanoseconds: 0)
        }
        for notification in notifications where notification.channel == Self.channel {
            if let key = ChangeKey(hex: notification.payload) { local.publish(key) }
        }
        return local.awaitChange(after: seen, timeoutNanoseconds: 0)
    }

    /// Connects and listens; on success every marker moves (what was notified before is unknown).
    private func connect() {
        let now = MonotonicClock.nanoseconds()
        guard now >= nextAttempt else { return }
        nextAttempt = now &+ Self.retryNanoseconds
        do {
            let connection = try PostgresConnection(connectionString: connectionString)
            try connection.execute("LISTEN \(Self.channel)")
            listener = connection
            if failureLogged { warn("live sync: listening to PostgreSQL again") }
            failureLogged = false
            local.publishEverything()
        } catch {
            if !failureLogged { warn("live sync: cannot listen on PostgreSQL (retrying every second; waits end at their timeout meanwhile): \(error)") }
            failureLogged = true
        }
    }
}

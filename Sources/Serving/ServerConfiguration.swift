import Dispatcher
import JWT
import TaskModel
import TodoAPI

/// Everything a serving process needs (`serve` reads it from flags first and the environment second).
public struct ServerConfiguration: Sendable {
    /// Where to listen: nil means the socket inherited on fd 0.
    public var listenAddress: String?
    public var backlog: Int32
    public var threads: Int
    /// Where the tasks are; shared by the threads of the process.
    public var backend: any TaskBackend
    public var jwt: JWTConfiguration
    public var cors: CORSPolicy
    public var logLevel: LogLevel
    /// Connection limits, the queue timeout and the TCP peer allow-list.
    public var dispatcher: DispatcherSettings
    /// The shared metrics file; nil when metrics are off.
    public var metricsPath: String?
    /// Live-sync requests waiting at once, at most (`--max-waiters`).
    public var maximumWaiters: Int
    /// Live-sync requests of one user waiting at once, at most (`--max-waits-per-user`).
    public var maximumWaitsPerUser: Int
    /// How long a request the database cannot take (no server takes writes: a failover or
    /// switchover) waits for it, holding no thread, before its 503 (`--database-wait`); 0 answers
    /// at once.
    public var databaseWaitNanoseconds: UInt64 = 0

    /// Connections the wait room always leaves to requests that do not wait: a quarter of
    /// `--max-connections`, and at least two per thread.
    public var connectionsKeptFromWaiters: Int {
        max(dispatcher.maximumConnections / 4, 2 * threads)
    }

    /// The room's size: `--max-waiters`, capped so that waiting requests (each holds its
    /// connection) can never take the connections plain requests need; 0 answers every wait at once.
    public var waitRoomCapacity: Int {
        max(0, min(maximumWaiters, dispatcher.maximumConnections - connectionsKeptFromWaiters))
    }

    /// A configuration of these parts.
    public init(listenAddress: String?, backlog: Int32, threads: Int, backend: any TaskBackend, jwt: JWTConfiguration,
                cors: CORSPolicy, logLevel: LogLevel, dispatcher: DispatcherSettings, metricsPath: String?,
                maximumWaiters: Int, maximumWaitsPerUser: Int) {
        self.listenAddress = listenAddress
        self.backlog = backlog
        self.threads = threads
        self.backend = backend
        self.jwt = jwt
        self.cors = cors
        self.logLevel = logLevel
        self.dispatcher = dispatcher
        self.metricsPath = metricsPath
        self.maximumWaiters = maximumWaiters
        self.maximumWaitsPerUser = maximumWaitsPerUser
    }
}


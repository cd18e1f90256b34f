import FastCGI
import JWT
import SQLiteStorage
import TaskModel
import TodoAPI

#if canImport(Glibc)
import Glibc
import Serving
#endif

/// `todo-fcgi serve`: the worker pool.
enum ServeCommand {
    static func run(_ settings: Settings) throws -> Int32 {
        let configuration = try settings.serverConfiguration()
        let socket: Int32
        if let address = configuration.listenAddress {
            socket = try FastCGI.openSocket(address, backlog: configuration.backlog)
        } else {
            guard isListeningSocket(FastCGI.inheritedSocket) else {
                throw ConfigurationError("fd 0 is not a listening socket: run under spawn-fcgi or systemd, or pass --listen PATH|HOST:PORT")
            }
            socket = FastCGI.inheritedSocket
        }
        // Migrate once here, so the threads only open connections.
        try configuration.backend.migrate()
        try FastCGI.initialize()
        Signals.blockProcessSignals()
        Log.level = configuration.logLevel
        let secretSource = (try? settings.secret()?.source) ?? "none (HS256 off)"
        _ = loadKeys(configuration.jwt)
        var current = configuration.jwt
        let database = configuration.backend
        Log.notice("serving: \(configuration.threads) threads, \(configuration.dispatcher.maximumConnections) connections at most, "
            + "queue timeout \(configuration.dispatcher.queueTimeoutNanoseconds / 1_000_000) ms, socket \(configuration.listenAddress ?? "fd 0"), "
            + "database \(database.displayName)\((database as? SQLiteBackend).map { " (synchronous=\($0.options.synchronous.rawValue))" } ?? ""), "
            + "secret from \(secretSource), JWKS \((configuration.jwt.keys as? JWKSKeyStore)?.sourceDescription ?? "none"), "
            + "issuer \(configuration.jwt.issuer ?? "(any)"), audience \(configuration.jwt.audience ?? "(any)"), "
            + "leeway \(Int(configuration.jwt.leewaySeconds))s, "
            + "CORS origins \(configuration.cors.allowedOrigins.isEmpty ? "(none)" : configuration.cors.allowedOrigins.sorted().joined(separator: ",")), "
            + "log level \(configuration.logLevel), sync waiters at most \(configuration.waitRoomCapacity) (\(configuration.maximumWaitsPerUser) per user)"
            + (configuration.waitRoomCapacity < configuration.maximumWaiters
                ? " (--max-waiters \(configuration.maximumWaiters) capped: \(configuration.connectionsKeptFromWaiters) of "
                    + "\(configuration.dispatcher.maximumConnections) connections stay for requests that do not wait)" : ""))
        raiseDescriptorLimit(toServe: configuration.dispatcher.maximumConnections)
        return try WorkerPool(configuration: configuration, socket: socket, buildVersion: TodoCommandLine.version).run {
            do {
                let fresh = try settings.jwtConfiguration()
                if !loadKeys(fresh), let previous = current.keys as? JWKSKeyStore, let store = fresh.keys as? JWKSKeyStore {
                    // The endpoint is down: installing an empty set would log every user out.
                    store.install(previous.current)
                    Log.write(.warn, "SIGHUP: keeping the \(previous.current.allKeys.count) keys loaded before")
                }
                current = fresh
                return fresh
            } catch {
                Log.error("SIGHUP: keeping the previous token settings: \(error)")
                return nil
            }
        }
    }

    /// Loads the JWKS if one is configured; a failure is logged, not fatal: the service starts
    /// and refetches in the background and when a token names a key it does not know.
    /// Returns false when a JWKS is configured and could not be loaded.
    static func loadKeys(_ configuration: JWTConfiguration) -> Bool {
        guard let store = configuration.keys as? JWKSKeyStore else { return true }
        do {
            let set = try store.reload()
            Log.notice("JWKS from \(store.sourceDescription): \(set.description)")
            return true
        } catch {
            return false  // the store has logged it; it retries every JWKS_REFRESH_INTERVAL seconds and on demand
        }
    }

    /// Idle connections cost a descriptor each: raise the soft limit (1024 by default, under
    /// systemd too) towards the hard limit so `--max-connections` can be reached.
    private static func raiseDescriptorLimit(toServe connections: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(connections + 64 + 256)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 || limit.rlim_cur < wanted {
            Log.write(.warn, "the descriptor limit (\(limit.rlim_cur)) is below --max-connections + 320; "
                + "raise LimitNOFILE or lower --max-connections")
        }
    }

    private static func isListeningSocket(_ descriptor: Int32) -> Bool {
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0
    }
}

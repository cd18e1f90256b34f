import FastCGI
import JWT
import SQLite
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// The sub-commands of `todo-fcgi`.
enum Commands {
    static let version = "0.1.0"

    static let usage = """
        Usage: todo-fcgi [serve|migrate|check|token] [options]

        Commands:
          serve (default)   Run the FastCGI worker pool.
          migrate           Create or upgrade the database schema, then exit.
          check             Validate configuration and database, like `nginx -t`.
          token --sub ID [--ttl SECONDS]
                            Print an HS256 token signed with BETTER_AUTH_SECRET.

        Options (flags override environment variables):
          --listen PATH|HOST:PORT  Open this socket (TODO_LISTEN); default: the socket on fd 0.
          --threads N              Worker threads per process (TODO_THREADS), default 8.
          --backlog N              Listen backlog for --listen (TODO_BACKLOG), default 1024.
          --database PATH          SQLite file (TODO_DATABASE), default ./todo.db.
          --synchronous full|normal  Commit durability (TODO_SYNCHRONOUS), default full.
          --log-level LEVEL        error, warn, info (one line per request) or debug (TODO_LOG_LEVEL).
          --help, --version

        Environment:
          BETTER_AUTH_SECRET   HS256 secret shared with Better Auth, at least 32 bytes (required,
                               unless given as $CREDENTIALS_DIRECTORY/better-auth-secret or in
                               the file BETTER_AUTH_SECRET_FILE; files are re-read on SIGHUP).
          TODO_CORS_ORIGINS    Comma-separated browser origins allowed to call the API (CORS).
          BETTER_AUTH_URL      When set, tokens must have iss = aud = this URL.
          JWT_ISSUER, JWT_AUDIENCE  Override the expected iss / aud.
          JWT_LEEWAY           Clock leeway in seconds for exp/nbf/iat, default 30.
        """

    static func serve(_ settings: Settings) throws -> Int32 {
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
        _ = try TaskDatabase.open(configuration.database, migrate: true)
        try FastCGI.initialize()
        Signals.blockProcessSignals()
        Log.level = configuration.logLevel
        let secretSource = (try? settings.secret().source) ?? "?"
        Log.write(.warn, "serving: \(configuration.threads) threads, socket \(configuration.listenAddress ?? "fd 0"), "
            + "database \(configuration.database.path) (synchronous=\(configuration.database.synchronous.rawValue)), "
            + "secret from \(secretSource), issuer \(configuration.jwt.issuer ?? "(any)"), "
            + "audience \(configuration.jwt.audience ?? "(any)"), leeway \(Int(configuration.jwt.leewaySeconds))s, "
            + "CORS origins \(configuration.cors.allowedOrigins.isEmpty ? "(none)" : configuration.cors.allowedOrigins.sorted().joined(separator: ",")), "
            + "log level \(configuration.logLevel)")
        WorkerPool(configuration: configuration, socket: socket).run {
            do {
                let fresh = try settings.jwtConfiguration()
                if let level = try? settings.logLevel() { Log.level = level }
                return fresh
            } catch {
                Log.line("SIGHUP: keeping the previous token settings: \(error)")
                return nil
            }
        }
        return 0
    }

    static func migrate(_ settings: Settings) throws -> Int32 {
        let options = try settings.databaseOptions()
        _ = try TaskDatabase.open(options, migrate: true)
        print("database \(options.path) is at schema version \(TaskDatabase.schemaVersion)")
        return 0
    }

    static func check(_ settings: Settings) throws -> Int32 {
        let configuration = try settings.serverConfiguration()
        print("configuration ok: \(configuration.threads) threads, listen \(configuration.listenAddress ?? "fd 0"), issuer \(configuration.jwt.issuer ?? "(any)"), audience \(configuration.jwt.audience ?? "(any)")")
        guard access(configuration.database.path, F_OK) == 0 else {
            print("database \(configuration.database.path) does not exist yet: `serve` or `migrate` will create it")
            return 0
        }
        let connection = try TaskDatabase.open(configuration.database, migrate: false)
        let integrity = try connection.scalarText("PRAGMA quick_check") ?? "no answer"
        guard integrity == "ok" else {
            throw ConfigurationError("database \(configuration.database.path) failed its integrity check: \(integrity)")
        }
        let tasks = try connection.scalarInteger("SELECT count(*) FROM tasks") ?? 0
        print("database ok: \(configuration.database.path), schema version \(TaskDatabase.schemaVersion), \(tasks) tasks, SQLite \(SQLiteConnection.libraryVersion)")
        return 0
    }

    static func token(_ settings: Settings) throws -> Int32 {
        let jwt = try settings.jwtConfiguration()
        guard let subject = settings.value(flag: "--sub", env: nil), !subject.isEmpty else {
            throw ConfigurationError("token needs --sub USER_ID")
        }
        let lifetime = try settings.integer(flag: "--ttl", env: nil, default: 3600, range: 1...31_536_000)
        let token = try JWTSigner(secret: jwt.secret).sign(subject: subject, issuedAt: Int64(WallClock.seconds()),
                                                            lifetime: Int64(lifetime), issuer: jwt.issuer, audience: jwt.audience)
        print(token)
        return 0
    }

    private static func isListeningSocket(_ descriptor: Int32) -> Bool {
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0
    }
}

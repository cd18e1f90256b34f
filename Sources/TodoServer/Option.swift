import Dispatcher
import PostgreSQL
import TaskModel
import TodoAPI

/// One setting: its flag, its environment variable, its default and its help. The option
/// table below is the one place each of these is written: parsing, range checks and `--help`
/// all read it.
struct Option: Sendable, Hashable {
    /// The command-line flag, e.g. `--threads`; nil for settings only the environment gives.
    let flag: String?
    /// The environment variable, e.g. `TODO_THREADS`; nil for flags of one command.
    let variable: String?
    /// The value's placeholder in `--help` (`N`, `PATH`); nil for a switch that takes none.
    let argument: String?
    /// The value used when neither flag nor variable is set, as text; nil when there is none.
    let defaultValue: String?
    /// The accepted range, for integers.
    let range: ClosedRange<Int>?
    /// One sentence for `--help`.
    let help: String

    init(flag: String? = nil, variable: String? = nil, argument: String? = "VALUE", defaultValue: String? = nil,
         range: ClosedRange<Int>? = nil, help: String) {
        self.flag = flag
        self.variable = variable
        self.argument = argument
        self.defaultValue = defaultValue
        self.range = range
        self.help = help
    }

    /// How messages name it: the flag when it has one, else the variable.
    var name: String { flag ?? variable ?? "value" }
}

extension Option {
    static let listen = Option(flag: "--listen", variable: "TODO_LISTEN", argument: "PATH|HOST:PORT",
                               help: "Open this socket instead of serving the one on fd 0 (spawn-fcgi, systemd).")
    static let threads = Option(flag: "--threads", variable: "TODO_THREADS", argument: "N", defaultValue: "8", range: 1...256,
                                help: "Worker threads per process.")
    static let backlog = Option(flag: "--backlog", variable: "TODO_BACKLOG", argument: "N", defaultValue: "1024", range: 1...65_535,
                                help: "Listen backlog for --listen.")
    static let maxConnections = Option(flag: "--max-connections", variable: "TODO_MAX_CONNECTIONS", argument: "N",
                                       defaultValue: String(DispatcherSettings().maximumConnections), range: 1...1_000_000,
                                       help: "Connections held open at once, idle ones included; more wait in the backlog.")
    static let queueTimeout = Option(flag: "--queue-timeout", variable: "TODO_QUEUE_TIMEOUT", argument: "MS",
                                     defaultValue: String(DispatcherSettings().queueTimeoutNanoseconds / 1_000_000), range: 1...25_000,
                                     help: "A request that waits longer for a free thread is answered 503 with Retry-After.")
    static let database = Option(flag: "--database", variable: "TODO_DATABASE", argument: "PATH|URI", defaultValue: "./todo.db",
                                 help: "The SQLite database file, or a postgresql:// URI (libpq syntax; PG* variables and "
                                     + "~/.pgpass fill in what it leaves out).")
    static let copySource = Option(flag: "--from", argument: "PATH|URI", help: "copy: the database to read every task from.")
    static let copyDestination = Option(flag: "--to", argument: "PATH|URI",
                                        help: "copy: the database to copy into (created or migrated; it must have no tasks).")
    static let synchronous = Option(flag: "--synchronous", variable: "TODO_SYNCHRONOUS", argument: "full|normal",
                                    defaultValue: "full", help: "Commit durability: full survives power loss, normal a process crash.")
    static let statementCache = Option(flag: "--statement-cache", variable: "TODO_STATEMENT_CACHE", argument: "N",
                                       defaultValue: String(ListStatementCache.defaultShapes), range: 1...100_000,
                                       help: "List-query shapes whose statements each connection keeps prepared (least "
                                           + "recently used dropped first).")
    static let postgresStatements = Option(flag: "--postgres-statements", variable: "TODO_POSTGRES_STATEMENTS",
                                           argument: "named|unnamed", defaultValue: PostgresStatementMode.named.rawValue,
                                           help: "PostgreSQL: named statements (prepared once per connection) or unnamed ones "
                                               + "(parsed on each use), for transaction-mode poolers that do not keep named "
                                               + "statements, such as PgBouncer before 1.21.")
    static let postgresListen = Option(flag: "--postgres-listen", variable: "TODO_POSTGRES_LISTEN", argument: "URI",
                                       help: "PostgreSQL: where each process LISTENs for live sync's change notifications "
                                           + "(default: --database); set it to the server itself when --database goes "
                                           + "through a transaction-mode pooler, which cannot hold a LISTEN.")
    static let readDatabase = Option(flag: "--read-database", variable: "TODO_READ_DATABASE", argument: "URI",
                                     help: "PostgreSQL: a hot standby of --database that serves the reads sending back an "
                                         + "\(ConsistencyToken.headerName) once it has replayed that write (else the primary does; "
                                         + "docs/SCALING.md). Off by default.")
    static let databaseWait = Option(flag: "--database-wait", variable: "TODO_DATABASE_WAIT", argument: "SECONDS", defaultValue: "15",
                                     range: 0...300,
                                     help: "PostgreSQL failover (ignored for SQLite): how long a request the database cannot take (no server "
                                         + "takes writes: a failover or switchover under way; nothing of it done) waits for "
                                         + "one, holding no thread and tried again every 100 ms, before its 503 with "
                                         + "Retry-After; 0 answers at once.")
    static let maxWaiters = Option(flag: "--max-waiters", variable: "TODO_MAX_WAITERS", argument: "N", defaultValue: "10000",
                                   range: 0...1_000_000,
                                   help: "Live sync: requests waiting for a change at once per process (they hold no thread, "
                                       + "but a connection each: capped to leave a quarter of --max-connections, and two per "
                                       + "thread, to other requests); more are answered 503 wait_room_full with Retry-After; "
                                       + "0 answers every wait at once.")
    static let maxWaitsPerUser = Option(flag: "--max-waits-per-user", variable: "TODO_MAX_WAITS_PER_USER", argument: "N",
                                        defaultValue: "10", range: 1...1_000_000,
                                        help: "Live sync: requests of one user waiting at once per process; more are answered "
                                            + "429 too_many_waits with Retry-After, while other users still get in.")
    static let metricsFile = Option(flag: "--metrics-file", variable: "TODO_METRICS_FILE", argument: "PATH|off",
                                    help: "The file the worker processes share their metrics in (default: the SQLite database "
                                        + "path with .metrics appended; with PostgreSQL, todo-fcgi.metrics in $STATE_DIRECTORY or "
                                        + "the working directory); off disables /metrics.")
    static let logLevel = Option(flag: "--log-level", variable: "TODO_LOG_LEVEL", argument: "LEVEL", defaultValue: "info",
                                 help: "error, warn, info (one line per request) or debug.")

    static let subject = Option(flag: "--sub", argument: "USER_ID", help: "token: the subject (user id).")
    static let lifetime = Option(flag: "--ttl", argument: "SECONDS", defaultValue: "900", range: 1...31_536_000,
                                 help: "token: lifetime in seconds.")
    static let signingKey = Option(flag: "--key", argument: "PRIVATE_JWK", help: "token: sign EdDSA with this key from keygen.")
    static let privateKeyFile = Option(flag: "--private-key", argument: "FILE", help: "keygen: where to write the private JWK (mode 0600).")
    static let jwksFile = Option(flag: "--jwks", argument: "FILE", help: "keygen: where to write the JWKS.")
    static let keyID = Option(flag: "--kid", argument: "ID", help: "keygen: the key id (default: random).")
    static let force = Option(flag: "--force", argument: nil, help: "keygen, backup: replace existing files (atomically).")
    static let quiet = Option(flag: "--quiet", argument: nil,
                              help: "copy, backup, migrate: no progress on stderr (stdout has only the final summary either way).")
    static let environmentFile = Option(flag: "--env-file", argument: "FILE",
                                        help: "nginx-cors-map: read TODO_CORS_ORIGINS from this systemd environment file.")

    static let secret = Option(variable: "BETTER_AUTH_SECRET",
                               help: "HS256 secret shared with Better Auth, at least 32 bytes (a secret or a JWKS is required).")
    static let secretFile = Option(variable: "BETTER_AUTH_SECRET_FILE",
                                   help: "Read the secret from this file instead (re-read on SIGHUP).")
    static let credentialsDirectory = Option(variable: "CREDENTIALS_DIRECTORY",
                                             help: "Set by systemd: its better-auth-secret wins over both.")
    static let corsOrigins = Option(variable: "TODO_CORS_ORIGINS",
                                    help: "Comma-separated browser origins allowed to call the API, each http(s)://host[:port].")
    static let betterAuthURL = Option(variable: "BETTER_AUTH_URL",
                                      help: "Tokens must have iss = aud = this URL; with no secret, the JWKS is BETTER_AUTH_URL/api/auth/jwks.")
    static let jwksURL = Option(variable: "BETTER_AUTH_JWKS_URL",
                                help: "Where the JWKS is (https, or http to localhost only).")
    static let jwksPath = Option(variable: "BETTER_AUTH_JWKS_FILE", help: "A JWKS file instead of a URL.")
    static let jwksMaximumAge = Option(variable: "JWKS_MAX_AGE", defaultValue: "300", range: 1...86_400,
                                       help: "Refetch the JWKS in the background when older (or than a shorter Cache-Control max-age).")
    static let jwksRefreshInterval = Option(variable: "JWKS_REFRESH_INTERVAL", defaultValue: "30", range: 1...86_400,
                                            help: "Least seconds between refetches for unknown key ids and retries of a failing endpoint.")
    static let issuer = Option(variable: "JWT_ISSUER", help: "Override the expected iss (default BETTER_AUTH_URL).")
    static let audience = Option(variable: "JWT_AUDIENCE", help: "Override the expected aud (default BETTER_AUTH_URL).")
    static let leeway = Option(variable: "JWT_LEEWAY", defaultValue: "30", range: 0...3600,
                               help: "Clock leeway in seconds for exp, nbf and iat.")
    static let webServerAddresses = Option(variable: "FCGI_WEB_SERVER_ADDRS",
                                           help: "Comma-separated IPv4/IPv6 addresses allowed to connect over TCP.")

    /// Every setting, in `--help` order.
    static let all: [Option] = [
        listen, threads, backlog, maxConnections, queueTimeout, database, synchronous, statementCache, postgresStatements,
        postgresListen, readDatabase, databaseWait, maxWaiters, maxWaitsPerUser, metricsFile, logLevel,
        copySource, copyDestination, quiet, subject, lifetime, signingKey, privateKeyFile, jwksFile, keyID, force, environmentFile,
        secret, secretFile, credentialsDirectory, corsOrigins, betterAuthURL, jwksURL, jwksPath,
        jwksMaximumAge, jwksRefreshInterval, issuer, audience, leeway, webServerAddresses,
    ]
}

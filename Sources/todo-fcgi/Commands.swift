import FastCGI
import HTTPFetch
import JSON
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
        Usage: todo-fcgi [serve|migrate|check|token|backup|keygen|nginx-cors-map] [options]

        Commands:
          serve (default)   Run the FastCGI worker pool.
          migrate           Create or upgrade the database schema, then exit.
          check             Validate configuration and database, like `nginx -t`.
          token --sub ID [--ttl SECONDS] [--key PRIVATE_JWK]
                            Print a token: HS256 with BETTER_AUTH_SECRET, or EdDSA with the
                            key from `keygen`, shaped like Better Auth's JWT plugin makes them.
          backup PATH       Copy the live database consistently to PATH (a new file).
          keygen --private-key FILE --jwks FILE [--kid ID] [--force]
                            Write a new Ed25519 private key (JWK, mode 0600) and the matching
                            JWKS; existing files are refused unless --force replaces them.
          nginx-cors-map    Print the nginx map of TODO_CORS_ORIGINS that gives nginx's own
                            errors (413, 429, 502, ...) the worker's CORS headers.

        Options (flags override environment variables):
          --listen PATH|HOST:PORT  Open this socket (TODO_LISTEN); default: the socket on fd 0.
          --threads N              Worker threads per process (TODO_THREADS), default 8.
          --backlog N              Listen backlog for --listen (TODO_BACKLOG), default 1024.
          --max-connections N      Connections held open at once, idle ones included
                                   (TODO_MAX_CONNECTIONS), default 4096.
          --queue-timeout MS       A request that waits longer for a free thread is answered 503
                                   with Retry-After (TODO_QUEUE_TIMEOUT), default 5000.
          --database PATH          SQLite file (TODO_DATABASE), default ./todo.db.
          --synchronous full|normal  Commit durability (TODO_SYNCHRONOUS), default full.
          --log-level LEVEL        error, warn, info (one line per request) or debug (TODO_LOG_LEVEL).
          --help, --version

        Environment:
          BETTER_AUTH_SECRET   HS256 secret shared with Better Auth, at least 32 bytes (required,
                               unless given as $CREDENTIALS_DIRECTORY/better-auth-secret or in
                               the file BETTER_AUTH_SECRET_FILE; files are re-read on SIGHUP).
          TODO_CORS_ORIGINS    Comma-separated browser origins allowed to call the API (CORS),
                               each http(s)://host[:port].
          BETTER_AUTH_URL      When set, tokens must have iss = aud = this URL; with no secret,
                               the JWKS is fetched from BETTER_AUTH_URL/api/auth/jwks.
          BETTER_AUTH_JWKS_URL, BETTER_AUTH_JWKS_FILE  Where the JWKS is (EdDSA/ES256/ES512/RS256/PS256).
          JWKS_MAX_AGE         Refetch the JWKS in the background when older than this many
                               seconds (or a shorter Cache-Control max-age), default 300.
          JWKS_REFRESH_INTERVAL  Least seconds between refetches for unknown key ids and between
                               retries of a failing endpoint, default 30.
          JWT_ISSUER, JWT_AUDIENCE  Override the expected iss / aud.
          JWT_LEEWAY           Clock leeway in seconds for exp/nbf/iat, default 30.
          FCGI_WEB_SERVER_ADDRS  Comma-separated IPv4/IPv6 addresses allowed to connect over TCP.
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
        let secretSource = (try? settings.secret()?.source) ?? "none (HS256 off)"
        _ = loadKeys(configuration.jwt)
        var current = configuration.jwt
        Log.write(.warn, "serving: \(configuration.threads) threads, \(configuration.dispatcher.maximumConnections) connections at most, queue timeout \(configuration.dispatcher.queueTimeoutNanoseconds / 1_000_000) ms, socket \(configuration.listenAddress ?? "fd 0"), "
            + "database \(configuration.database.path) (synchronous=\(configuration.database.synchronous.rawValue)), "
            + "secret from \(secretSource), JWKS \((configuration.jwt.keys as? JWKSKeyStore)?.sourceDescription ?? "none"), issuer \(configuration.jwt.issuer ?? "(any)"), "
            + "audience \(configuration.jwt.audience ?? "(any)"), leeway \(Int(configuration.jwt.leewaySeconds))s, "
            + "CORS origins \(configuration.cors.allowedOrigins.isEmpty ? "(none)" : configuration.cors.allowedOrigins.sorted().joined(separator: ",")), "
            + "log level \(configuration.logLevel)")
        raiseDescriptorLimit(toServe: configuration.dispatcher.maximumConnections)
        return try WorkerPool(configuration: configuration, socket: socket).run {
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
                Log.line("SIGHUP: keeping the previous token settings: \(error)")
                return nil
            }
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

    static func migrate(_ settings: Settings) throws -> Int32 {
        let options = try settings.databaseOptions()
        _ = try TaskDatabase.open(options, migrate: true)
        print("database \(options.path) is at schema version \(TaskDatabase.schemaVersion)")
        return 0
    }

    /// Loads the JWKS if one is configured; a failure is logged, not fatal: the service starts
    /// and refetches in the background and when a token names a key it does not know.
    /// Returns false when a JWKS is configured and could not be loaded.
    static func loadKeys(_ configuration: JWTConfiguration) -> Bool {
        guard let store = configuration.keys as? JWKSKeyStore else { return true }
        do {
            let set = try store.reload()
            Log.write(.warn, "JWKS from \(store.sourceDescription): \(set.description)")
            return true
        } catch {
            return false  // the store has logged it; it retries every JWKS_REFRESH_INTERVAL seconds and on demand
        }
    }

    static func check(_ settings: Settings) throws -> Int32 {
        let configuration = try settings.serverConfiguration()
        print("configuration ok: \(configuration.threads) threads, listen \(configuration.listenAddress ?? "fd 0"), HS256 \(configuration.jwt.secret == nil ? "off" : "on"), issuer \(configuration.jwt.issuer ?? "(any)"), audience \(configuration.jwt.audience ?? "(any)")")
        var healthy = true
        if let store = configuration.jwt.keys as? JWKSKeyStore {
            do {
                print("JWKS ok: \(store.sourceDescription) answers, \(try store.reload().description)")
            } catch {
                print("JWKS failed: \(store.sourceDescription): \(error)")
                healthy = false
            }
        }
        guard access(configuration.database.path, F_OK) == 0 else {
            print("database \(configuration.database.path) does not exist yet: `serve` or `migrate` will create it")
            return healthy ? 0 : 1
        }
        let connection = try TaskDatabase.open(configuration.database, migrate: false)
        let integrity = try connection.scalarText("PRAGMA quick_check") ?? "no answer"
        guard integrity == "ok" else {
            throw CommandFailure("database \(configuration.database.path) failed its integrity check: \(integrity)")
        }
        let tasks = try connection.scalarInteger("SELECT count(*) FROM tasks") ?? 0
        print("database ok: \(configuration.database.path), schema version \(TaskDatabase.schemaVersion), \(tasks) tasks, SQLite \(SQLiteConnection.libraryVersion)")
        return healthy ? 0 : 1
    }

    /// `backup PATH`: a consistent copy of the live database while the service keeps serving.
    /// `VACUUM INTO` reads one snapshot (WAL lets writers go on meanwhile) and writes a compact,
    /// self-contained file, which is then integrity-checked.
    static func backup(_ settings: Settings) throws -> Int32 {
        guard settings.positional.count == 1, let destination = settings.positional.first else {
            throw ConfigurationError("usage: todo-fcgi backup PATH (PATH must not exist)")
        }
        guard access(destination, F_OK) != 0 else { throw ConfigurationError("\(destination) already exists") }
        let options = try settings.databaseOptions()
        let source = try TaskDatabase.open(options, migrate: false)
        let statement = try source.prepare("VACUUM INTO ?1")
        try statement.bind(destination, at: 1)
        try statement.run()
        // VACUUM INTO writes a rollback-journal file: make the copy WAL, so a restored backup
        // serves like the original (readers never block the writer).
        let copy = try SQLiteConnection(path: destination, create: false)
        _ = try copy.scalarText("PRAGMA journal_mode = WAL")
        let integrity = try copy.scalarText("PRAGMA integrity_check") ?? "no answer"
        guard integrity == "ok" else { throw CommandFailure("the backup \(destination) failed its integrity check: \(integrity)") }
        let tasks = try copy.scalarInteger("SELECT count(*) FROM tasks") ?? 0
        print("backed up \(options.path) to \(destination): \(tasks) tasks, integrity ok")
        return 0
    }

    static func token(_ settings: Settings) throws -> Int32 {
        guard let subject = settings.value(flag: "--sub", env: nil), !subject.isEmpty else {
            throw ConfigurationError("token needs --sub USER_ID")
        }
        let lifetime = Int64(try settings.integer(flag: "--ttl", env: nil, default: 900, range: 1...31_536_000))
        let now = Int64(WallClock.seconds())
        let baseURL = settings.value(flag: nil, env: "BETTER_AUTH_URL")
        let issuer = settings.value(flag: nil, env: "JWT_ISSUER") ?? baseURL
        let audience = settings.value(flag: nil, env: "JWT_AUDIENCE") ?? baseURL
        if let keyPath = settings.value(flag: "--key", env: nil) {
            let jwk = try JSONParser().parse(try Settings.readFile(keyPath, limit: 65536)).objectValue ?? [:]
            guard case .string(let d)? = jwk["d"], let seed = Base64URL.decode(Array(d.utf8)),
                  case .string(let kid)? = jwk["kid"] else {
                throw ConfigurationError("\(keyPath) is not an Ed25519 private JWK with d and kid (see `todo-fcgi keygen`)")
            }
            // The claims Better Auth's JWT plugin puts in its tokens, user fields included.
            let payload = TokenClaims.json(subject: subject, issuedAt: now, lifetime: lifetime, issuer: issuer,
                                           audience: audience, betterAuthUserFields: true)
            print(try Ed25519SigningKey(seed: seed).signToken(payloadJSON: payload, keyID: kid))
            return 0
        }
        guard let secret = try settings.secret()?.value else {
            throw ConfigurationError("token needs BETTER_AUTH_SECRET (HS256) or --key PRIVATE_JWK (EdDSA)")
        }
        _ = try settings.jwtConfiguration()  // the same validation as the server's
        print(try JWTSigner(secret: Array(secret.utf8)).sign(subject: subject, issuedAt: now, lifetime: lifetime,
                                                             issuer: issuer, audience: audience))
        return 0
    }

    static func keygen(_ settings: Settings) throws -> Int32 {
        guard let privatePath = settings.value(flag: "--private-key", env: nil),
              let jwksPath = settings.value(flag: "--jwks", env: nil) else {
            throw ConfigurationError("keygen needs --private-key FILE and --jwks FILE")
        }
        let key = try Ed25519SigningKey()
        let kid = try settings.value(flag: "--kid", env: nil) ?? Base64URL.encode(SecureRandom.bytes(count: 12))
        let x = Base64URL.encode(try key.publicKeyBytes())
        var jwk = JSONWriter()
        jwk.raw("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"kid\":")
        jwk.string(kid)
        jwk.raw(",\"x\":")
        jwk.string(x)
        let publicPart = jwk.bytes + Array("}".utf8)
        jwk.raw(",\"d\":")
        jwk.string(Base64URL.encode(try key.seedBytes()))
        jwk.raw("}\n")
        let force = settings.switches.contains("--force")
        try writeNewFile(privatePath, jwk.bytes, mode: 0o600, replacing: force)
        try writeNewFile(jwksPath, Array("{\"keys\":[".utf8) + publicPart + Array("]}\n".utf8), mode: 0o644, replacing: force)
        print("wrote the Ed25519 private key \(privatePath) and the JWKS \(jwksPath) (kid \(kid))")
        return 0
    }

    /// Writes a file that did not exist, created with its final mode (never wider for a moment)
    /// and never through a symbolic link. With `replacing`, an existing path is replaced
    /// atomically: the bytes go to a new file beside it, which is then renamed over the path
    /// (a link at the path is replaced itself; its target is never written).
    private static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t, replacing: Bool) throws {
        let target = replacing ? path + ".new-\(getpid())" : path
        let descriptor = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            let error = errno
            if error == EEXIST, !replacing {
                throw ConfigurationError("\(path) already exists; pass --force to replace it")
            }
            throw CommandFailure("cannot create \(target): \(String(cString: strerror(error)))")
        }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let writeError = errno
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced else {
            unlink(target)
            throw CommandFailure("cannot write \(target): \(String(cString: strerror(writeError)))")
        }
        if replacing, rename(target, path) != 0 {
            let error = errno
            unlink(target)
            throw CommandFailure("cannot replace \(path): \(String(cString: strerror(error)))")
        }
    }

    private static func isListeningSocket(_ descriptor: Int32) -> Bool {
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening != 0
    }
}

import Dispatcher
import HTTPFetch
import JWT
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// A configuration problem: reported on one line, exit code 2.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A command that failed at run time (a database that fails its check, a file that cannot be
/// written): reported on one line, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Everything `serve` needs, from flags first and the environment second.
struct ServerConfiguration: Sendable {
    /// Where to listen: nil means the socket inherited on fd 0.
    var listenAddress: String?
    var backlog: Int32 = 1024
    var threads = 8
    var database: TaskDatabase.Options
    var jwt: JWTConfiguration
    var cors: CORSPolicy
    var logLevel: LogLevel
    /// Connection limits, the queue timeout and the TCP peer allow-list.
    var dispatcher: DispatcherSettings

    /// Default worker threads per process.
    static let defaultThreads = 8
}

/// Reads configuration values: command-line flags override environment variables.
struct Settings {
    private(set) var flags: [String: String] = [:]
    private(set) var positional: [String] = []
    /// Flags without a value that were given (e.g. `--force`).
    private(set) var switches: Set<String> = []
    private let environment: (String) -> String?

    /// Flags that take no value.
    static let switchFlags: Set<String> = ["--force"]

    /// Flags that take a value.
    static let valueFlags: Set<String> = ["--listen", "--threads", "--database", "--synchronous", "--backlog",
                                          "--max-connections", "--queue-timeout",
                                          "--sub", "--ttl", "--log-level",
                                          "--private-key", "--jwks", "--kid", "--key"]

    init(arguments: [String], environment: @escaping (String) -> String? = Settings.processEnvironment) throws(ConfigurationError) {
        self.environment = environment
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--") {
                var name = argument
                var value: String?
                if let equals = argument.firstIndex(of: "=") {
                    name = String(argument[..<equals])
                    value = String(argument[argument.index(after: equals)...])
                }
                if Self.switchFlags.contains(name), value == nil {
                    switches.insert(name)
                    index += 1
                    continue
                }
                guard Self.valueFlags.contains(name) else { throw ConfigurationError("unknown option \(name)") }
                if value == nil {
                    index += 1
                    guard index < arguments.count else { throw ConfigurationError("\(name) needs a value") }
                    value = arguments[index]
                }
                flags[name] = value
            } else {
                positional.append(argument)
            }
            index += 1
        }
    }

    /// The flag's value, else the environment variable's, else nil. Empty environment values count as unset.
    func value(flag: String?, env: String?) -> String? {
        if let flag, let value = flags[flag] { return value }
        if let env, let value = environment(env), !value.isEmpty { return value }
        return nil
    }

    func integer(flag: String?, env: String?, default fallback: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = value(flag: flag, env: env) else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError("\(flag ?? env ?? "value") must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return number
    }

    @Sendable static func processEnvironment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// The shared secret and where it came from, first match wins: the systemd credential
    /// `$CREDENTIALS_DIRECTORY/better-auth-secret`, the file `BETTER_AUTH_SECRET_FILE`, then
    /// `BETTER_AUTH_SECRET`; nil when none is set. Files are read anew on every call, which is
    /// what SIGHUP relies on.
    func secret() throws(ConfigurationError) -> (value: String, source: String)? {
        if let directory = value(flag: nil, env: "CREDENTIALS_DIRECTORY") {
            let path = directory + "/better-auth-secret"
            if access(path, F_OK) == 0 { return (try Self.readSecretFile(path), "credential \(path)") }
        }
        if let path = value(flag: nil, env: "BETTER_AUTH_SECRET_FILE") {
            return (try Self.readSecretFile(path), "file \(path)")
        }
        return value(flag: nil, env: "BETTER_AUTH_SECRET").map { ($0, "environment") }
    }

    /// The file's content without one trailing newline (as `echo` and editors leave it).
    static func readSecretFile(_ path: String) throws(ConfigurationError) -> String {
        var bytes = try readFile(path, limit: 65536)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The whole file, refusing files over `limit` bytes.
    static func readFile(_ path: String, limit: Int) throws(ConfigurationError) -> [UInt8] {
        guard let file = fopen(path, "r") else {
            throw ConfigurationError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
            guard bytes.count <= limit else { throw ConfigurationError("\(path) is larger than \(limit) bytes") }
        }
        return bytes
    }

    /// The JWKS, when one is configured: `BETTER_AUTH_JWKS_FILE`, or `BETTER_AUTH_JWKS_URL`, or
    /// `${BETTER_AUTH_URL}/api/auth/jwks` when `BETTER_AUTH_URL` is set and no secret is.
    /// The store is returned empty: `loadKeys` fills it.
    func jwksStore(secretConfigured: Bool) throws(ConfigurationError) -> JWKSKeyStore? {
        let interval = Double(try integer(flag: nil, env: "JWKS_REFRESH_INTERVAL", default: 30, range: 1...86_400))
        let maximumAge = Double(try integer(flag: nil, env: "JWKS_MAX_AGE", default: 300, range: 1...86_400))
        let log: @Sendable (Bool, String) -> Void = { isFailure, message in Log.write(isFailure ? .error : .warn, message) }
        let file = value(flag: nil, env: "BETTER_AUTH_JWKS_FILE")
        var url = value(flag: nil, env: "BETTER_AUTH_JWKS_URL")
        if url == nil, file == nil, !secretConfigured, let base = value(flag: nil, env: "BETTER_AUTH_URL") {
            url = String(base.reversed().drop { $0 == "/" }.reversed()) + "/api/auth/jwks"
        }
        switch (file, url) {
        case (.some, .some):
            throw ConfigurationError("set BETTER_AUTH_JWKS_FILE or BETTER_AUTH_JWKS_URL, not both")
        case (let path?, nil):
            return JWKSKeyStore(sourceDescription: "file \(path)", refreshInterval: interval, maximumAge: maximumAge,
                                clock: WallClock.seconds, log: log) {
                JWKSDocument(bytes: try Settings.readFile(path, limit: HTTPFetch.maximumBodySize))
            }
        case (nil, let address?):
            try Self.requireSecureJWKSURL(address)
            return JWKSKeyStore(sourceDescription: "URL \(address)", refreshInterval: interval, maximumAge: maximumAge,
                                clock: WallClock.seconds, log: log) {
                let response = try HTTPFetch.get(address)
                return JWKSDocument(bytes: response.body, maximumAgeSeconds: response.maximumAgeSeconds)
            }
        case (nil, nil):
            return nil
        }
    }

    /// A JWKS decides whose tokens are accepted, so it must not come over a channel a network
    /// attacker can rewrite: https, or http only to this machine (Better Auth in development).
    static func requireSecureJWKSURL(_ address: String) throws(ConfigurationError) {
        let lowered = address.lowercased()
        if lowered.hasPrefix("https://") { return }
        guard lowered.hasPrefix("http://") else {
            throw ConfigurationError("the JWKS URL must be https://, got \"\(address)\"")
        }
        var authority = lowered.dropFirst("http://".count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.dropFirst().prefix { $0 != "]" }
        } else {
            host = authority.prefix { $0 != ":" }
        }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        let isLoopbackIPv4 = inet_pton(AF_INET, String(host), &ipv4) == 1 && UInt32(bigEndian: ipv4.s_addr) >> 24 == 127
        let isLoopbackIPv6 = inet_pton(AF_INET6, String(host), &ipv6) == 1
            && withUnsafeBytes(of: &ipv6) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
        guard host == "localhost" || isLoopbackIPv4 || isLoopbackIPv6 else {
            throw ConfigurationError("the JWKS URL \(address) is plain http to another host: a network attacker could "
                + "replace the keys and sign tokens for any user; use https (http is accepted for localhost only)")
        }
    }

    /// The JWT settings: the secret (at least 32 bytes, see `secret()`), issuer and audience from
    /// `BETTER_AUTH_URL` unless `JWT_ISSUER` / `JWT_AUDIENCE` override, and `JWT_LEEWAY` seconds.
    func jwtConfiguration() throws(ConfigurationError) -> JWTConfiguration {
        let secret = try self.secret()?.value
        let keys = try jwksStore(secretConfigured: secret != nil)
        guard secret != nil || keys != nil else {
            throw ConfigurationError("no token key: set BETTER_AUTH_SECRET (HS256, at least \(JWTConfiguration.minimumSecretLength) bytes), "
                + "or BETTER_AUTH_URL / BETTER_AUTH_JWKS_URL / BETTER_AUTH_JWKS_FILE for Better Auth's JWKS")
        }
        let baseURL = value(flag: nil, env: "BETTER_AUTH_URL")
        let leeway = try integer(flag: nil, env: "JWT_LEEWAY", default: 30, range: 0...3600)
        do {
            return try JWTConfiguration(secret: secret.map { Array($0.utf8) }, keys: keys, leewaySeconds: Double(leeway),
                                        issuer: value(flag: nil, env: "JWT_ISSUER") ?? baseURL,
                                        audience: value(flag: nil, env: "JWT_AUDIENCE") ?? baseURL)
        } catch {
            throw ConfigurationError("token settings: \(error.reason)")
        }
    }

    /// The database options: `--database` / `TODO_DATABASE` (default `./todo.db`) and `--synchronous` / `TODO_SYNCHRONOUS`.
    func databaseOptions() throws(ConfigurationError) -> TaskDatabase.Options {
        var options = TaskDatabase.Options(path: value(flag: "--database", env: "TODO_DATABASE") ?? "./todo.db")
        if let mode = value(flag: "--synchronous", env: "TODO_SYNCHRONOUS") {
            guard let parsed = TaskDatabase.Synchronous(rawValue: mode.lowercased()) else {
                throw ConfigurationError("--synchronous must be full or normal, got \"\(mode)\"")
            }
            options.synchronous = parsed
        }
        return options
    }

    func serverConfiguration() throws(ConfigurationError) -> ServerConfiguration {
        let threads = try integer(flag: "--threads", env: "TODO_THREADS", default: ServerConfiguration.defaultThreads, range: 1...256)
        let backlog = try integer(flag: "--backlog", env: "TODO_BACKLOG", default: 1024, range: 1...65535)
        return ServerConfiguration(listenAddress: value(flag: "--listen", env: "TODO_LISTEN"),
                                   backlog: Int32(backlog), threads: threads,
                                   database: try databaseOptions(), jwt: try jwtConfiguration(),
                                   cors: try corsPolicy(), logLevel: try logLevel(),
                                   dispatcher: try dispatcherSettings())
    }

    /// `--max-connections` / `TODO_MAX_CONNECTIONS` (default 4096), `--queue-timeout` /
    /// `TODO_QUEUE_TIMEOUT` in milliseconds (default 5000, below nginx's 30 s
    /// `fastcgi_read_timeout`), and libfcgi's `FCGI_WEB_SERVER_ADDRS` allow-list for TCP peers.
    func dispatcherSettings() throws(ConfigurationError) -> DispatcherSettings {
        var settings = DispatcherSettings()
        settings.maximumConnections = try integer(flag: "--max-connections", env: "TODO_MAX_CONNECTIONS",
                                                  default: settings.maximumConnections, range: 1...1_000_000)
        let timeout = try integer(flag: "--queue-timeout", env: "TODO_QUEUE_TIMEOUT", default: 5000, range: 1...25_000)
        settings.queueTimeoutNanoseconds = UInt64(timeout) * 1_000_000
        do {
            settings.allowedPeers = try PeerAllowList(parsing: value(flag: nil, env: "FCGI_WEB_SERVER_ADDRS"))
        } catch {
            throw ConfigurationError(error.description)
        }
        return settings
    }

    /// `TODO_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser (default none).
    func corsPolicy() throws(ConfigurationError) -> CORSPolicy {
        do {
            return try CORSPolicy(list: value(flag: nil, env: "TODO_CORS_ORIGINS") ?? "")
        } catch {
            throw ConfigurationError(error.description)
        }
    }

    /// `--log-level` / `TODO_LOG_LEVEL`: error, warn, info (default, one line per request) or debug.
    func logLevel() throws(ConfigurationError) -> LogLevel {
        guard let name = value(flag: "--log-level", env: "TODO_LOG_LEVEL") else { return .info }
        guard let level = LogLevel(name: name) else {
            throw ConfigurationError("--log-level must be error, warn, info or debug, got \"\(name)\"")
        }
        return level
    }
}

import JWT
import TodoAPI

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var slice = self
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A configuration problem: reported on one line, exit code 2.
struct ConfigurationError: Error, CustomStringConvertible {
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

    /// Default worker threads per process.
    static let defaultThreads = 8
}

/// Reads configuration values: command-line flags override environment variables.
struct Settings {
    private(set) var flags: [String: String] = [:]
    private(set) var positional: [String] = []
    private let environment: (String) -> String?

    /// Flags that take a value.
    static let valueFlags: Set<String> = ["--listen", "--threads", "--database", "--synchronous", "--backlog",
                                          "--sub", "--ttl", "--log-level"]

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
    /// `BETTER_AUTH_SECRET`. Files are read anew on every call, which is what SIGHUP relies on.
    func secret() throws(ConfigurationError) -> (value: String, source: String) {
        if let directory = value(flag: nil, env: "CREDENTIALS_DIRECTORY") {
            let path = directory + "/better-auth-secret"
            if access(path, F_OK) == 0 { return (try Self.readSecretFile(path), "credential \(path)") }
        }
        if let path = value(flag: nil, env: "BETTER_AUTH_SECRET_FILE") {
            return (try Self.readSecretFile(path), "file \(path)")
        }
        guard let secret = value(flag: nil, env: "BETTER_AUTH_SECRET") else {
            throw ConfigurationError("BETTER_AUTH_SECRET is not set (it must be at least \(JWTConfiguration.minimumSecretLength) bytes)")
        }
        return (secret, "environment")
    }

    /// The file's content without one trailing newline (as `echo` and editors leave it).
    static func readSecretFile(_ path: String) throws(ConfigurationError) -> String {
        guard let file = fopen(path, "r") else {
            throw ConfigurationError("cannot read the secret file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
            guard bytes.count <= 65536 else { throw ConfigurationError("the secret file \(path) is larger than 64 KiB") }
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The JWT settings: the secret (at least 32 bytes, see `secret()`), issuer and audience from
    /// `BETTER_AUTH_URL` unless `JWT_ISSUER` / `JWT_AUDIENCE` override, and `JWT_LEEWAY` seconds.
    func jwtConfiguration() throws(ConfigurationError) -> JWTConfiguration {
        let secret = try self.secret().value
        let baseURL = value(flag: nil, env: "BETTER_AUTH_URL")
        let leeway = try integer(flag: nil, env: "JWT_LEEWAY", default: 30, range: 0...3600)
        do {
            return try JWTConfiguration(secret: Array(secret.utf8), leewaySeconds: Double(leeway),
                                        issuer: value(flag: nil, env: "JWT_ISSUER") ?? baseURL,
                                        audience: value(flag: nil, env: "JWT_AUDIENCE") ?? baseURL)
        } catch {
            throw ConfigurationError("BETTER_AUTH_SECRET: \(error.reason)")
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
                                   cors: try corsPolicy(), logLevel: try logLevel())
    }

    /// `TODO_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser (default none).
    func corsPolicy() throws(ConfigurationError) -> CORSPolicy {
        let list = value(flag: nil, env: "TODO_CORS_ORIGINS") ?? ""
        let origins = list.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
        for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.hasSuffix("/") {
            throw ConfigurationError("TODO_CORS_ORIGINS: \"\(origin)\" is not an origin like https://app.example.com")
        }
        return CORSPolicy(allowedOrigins: Set(origins))
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

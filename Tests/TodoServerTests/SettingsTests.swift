import Testing
@testable import TodoServer

#if canImport(Glibc)
import Glibc
#endif

/// Flags, environment, defaults and ranges, from the option table.
@Suite("Settings")
struct SettingsTests {
    static func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> Settings {
        try Settings(arguments: arguments, environment: { environment[$0] })
    }

    @Test func aFlagOverridesItsVariableWhichOverridesTheDefault() throws {
        #expect(try Self.settings([]).integer(.threads) == 8)
        #expect(try Self.settings([], ["TODO_THREADS": "12"]).integer(.threads) == 12)
        #expect(try Self.settings(["--threads", "3"], ["TODO_THREADS": "12"]).integer(.threads) == 3)
        #expect(try Self.settings(["--threads=4"], ["TODO_THREADS": "12"]).integer(.threads) == 4)
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        #expect(try Self.settings([], ["TODO_THREADS": ""]).integer(.threads) == 8)
        #expect(try Self.settings([], ["TODO_DATABASE": ""]).value(.database) == "./todo.db")
    }

    @Test(arguments: [("--threads", "0"), ("--threads", "257"), ("--threads", "eight"), ("--backlog", "70000"),
                      ("--max-connections", "0"), ("--queue-timeout", "25001"), ("--ttl", "-1")])
    func integersOutsideTheirRangeAreRefusedNamingTheFlag(_ flag: String, _ value: String) throws {
        let option = try #require(Option.all.first { $0.flag == flag })
        #expect(throws: ConfigurationError.self) { try Self.settings([flag, value]).integer(option) }
        do {
            _ = try Self.settings([flag, value]).integer(option)
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix("\(flag) must be an integer from "))
            #expect(error.description.hasSuffix("got \"\(value)\""))
        }
    }

    @Test func variablesOutsideTheirRangeAreRefusedNamingTheVariable() throws {
        #expect(throws: ConfigurationError("JWKS_MAX_AGE must be an integer from 1 to 86400, got \"0\"")) {
            try Self.settings([], ["JWKS_MAX_AGE": "0"]).integer(.jwksMaximumAge)
        }
        #expect(throws: ConfigurationError("JWT_LEEWAY must be an integer from 0 to 3600, got \"3601\"")) {
            try Self.settings([], ["JWT_LEEWAY": "3601"]).integer(.leeway)
        }
    }

    @Test func unknownOptionsMissingValuesAndValuedSwitchesAreRefused() {
        #expect(throws: ConfigurationError("unknown option --thread")) { try Self.settings(["--thread", "2"]) }
        #expect(throws: ConfigurationError("--database needs a value")) { try Self.settings(["--database"]) }
        #expect(throws: ConfigurationError("--force takes no value")) { try Self.settings(["--force=yes"]) }
    }

    @Test func switchesAndPositionalArguments() throws {
        let settings = try Self.settings(["--force", "backup.db", "--kid", "k"])
        #expect(settings.isSet(.force))
        #expect(!(try Self.settings([]).isSet(.force)))
        #expect(settings.positional == ["backup.db"])
        #expect(settings.value(.keyID) == "k")
    }

    @Test func theSecretComesFromTheCredentialThenTheFileThenTheVariable() throws {
        let directory = "/tmp/todo-fcgi-settings-\(UInt64.random(in: 0...UInt64.max))"
        mkdir(directory, 0o700)
        defer { unlink(directory + "/better-auth-secret"); unlink(directory + "/file"); rmdir(directory) }
        let write = { (path: String, text: String) in
            let file = fopen(path, "w")
            fputs(text, file)
            fclose(file)
        }
        write(directory + "/file", "from-the-file-0123456789abcdefghij\n")
        var environment = ["BETTER_AUTH_SECRET": "from-the-variable-0123456789abcdef"]
        #expect(try Self.settings([], environment).secret()?.source == "environment")
        environment["BETTER_AUTH_SECRET_FILE"] = directory + "/file"
        #expect(try Self.settings([], environment).secret()?.value == "from-the-file-0123456789abcdefghij")
        environment["CREDENTIALS_DIRECTORY"] = directory
        #expect(try Self.settings([], environment).secret()?.source == "file \(directory)/file")  // no credential there yet
        write(directory + "/better-auth-secret", "from-the-credential-0123456789abc")
        #expect(try Self.settings([], environment).secret()?.value == "from-the-credential-0123456789abc")
        #expect(try Self.settings([], [:]).secret() == nil)
    }

    @Test func issuerAndAudienceDefaultToTheBetterAuthURLUnlessOverridden() throws {
        #expect(try Self.settings([]).issuerAndAudience() == (nil, nil))
        let base = ["BETTER_AUTH_URL": "https://app.example.com"]
        #expect(try Self.settings([], base).issuerAndAudience() == ("https://app.example.com", "https://app.example.com"))
        var both = base
        both["JWT_AUDIENCE"] = "api"
        #expect(try Self.settings([], both).issuerAndAudience() == ("https://app.example.com", "api"))
    }
}

/// The whole configuration `serve` and `check` build.
@Suite("Server configuration")
struct ServerConfigurationTests {
    static let secret = ["BETTER_AUTH_SECRET": "a-shared-secret-of-at-least-32-bytes!"]

    @Test func defaults() throws {
        let configuration = try SettingsTests.settings([], Self.secret).serverConfiguration()
        #expect(configuration.threads == 8)
        #expect(configuration.backlog == 1024)
        #expect(configuration.listenAddress == nil)
        #expect(configuration.backend.options.path == "./todo.db")
        #expect(configuration.backend.options.synchronous == .full)
        #expect(configuration.dispatcher.maximumConnections == 4096)
        #expect(configuration.dispatcher.queueTimeoutNanoseconds == 5_000_000_000)
        #expect(configuration.logLevel == .info)
        #expect(configuration.cors.allowedOrigins.isEmpty)
        #expect(configuration.jwt.leewaySeconds == 30)
        #expect(configuration.jwt.keys == nil)
    }

    @Test func everySettingIsRead() throws {
        var environment = Self.secret
        environment["TODO_CORS_ORIGINS"] = "https://app.example.com"
        environment["TODO_LOG_LEVEL"] = "notice"
        environment["FCGI_WEB_SERVER_ADDRS"] = "127.0.0.1"
        let configuration = try SettingsTests.settings(["--listen", "127.0.0.1:9000", "--threads", "2", "--backlog", "16",
                                                        "--database", "/tmp/x.db", "--synchronous", "NORMAL",
                                                        "--max-connections", "10", "--queue-timeout", "250"],
                                                       environment).serverConfiguration()
        #expect(configuration.listenAddress == "127.0.0.1:9000")
        #expect(configuration.threads == 2 && configuration.backlog == 16)
        #expect(configuration.backend.options.path == "/tmp/x.db" && configuration.backend.options.synchronous == .normal)
        #expect(configuration.dispatcher.maximumConnections == 10)
        #expect(configuration.dispatcher.queueTimeoutNanoseconds == 250_000_000)
        #expect(configuration.cors.allowedOrigins == ["https://app.example.com"])
        #expect(configuration.logLevel == .notice)
    }

    @Test(arguments: [
        (["--synchronous", "off"], [:], "--synchronous must be full or normal, got \"off\""),
        (["--log-level", "loud"], [:], "--log-level must be error, warn, notice, info or debug, got \"loud\""),
        ([], ["TODO_CORS_ORIGINS": "*"], "TODO_CORS_ORIGINS: \"*\" is not an origin like https://app.example.com or http://localhost:3000"),
        ([], ["BETTER_AUTH_SECRET": "short"], "token settings: the secret must be at least 32 bytes long (it is 5)"),
        ([], ["BETTER_AUTH_SECRET": ""], "no token key: set BETTER_AUTH_SECRET (HS256, at least 32 bytes), or BETTER_AUTH_URL / BETTER_AUTH_JWKS_URL / BETTER_AUTH_JWKS_FILE for Better Auth's JWKS"),
        ([], ["BETTER_AUTH_JWKS_URL": "http://auth.example.com/jwks"], nil),
        ([], ["BETTER_AUTH_JWKS_URL": "https://a/jwks", "BETTER_AUTH_JWKS_FILE": "/x"], "set BETTER_AUTH_JWKS_FILE or BETTER_AUTH_JWKS_URL, not both"),
        ([], ["FCGI_WEB_SERVER_ADDRS": "not-an-address"], nil),
    ] as [([String], [String: String], String?)])
    func badConfigurationIsOneLine(_ arguments: [String], _ environment: [String: String], _ message: String?) throws {
        var all = Self.secret
        all.merge(environment) { $1 }
        do {
            _ = try SettingsTests.settings(arguments, all).serverConfiguration()
            Issue.record("expected a configuration error")
        } catch let error as ConfigurationError {
            if let message { #expect(error.description == message) }
            #expect(!error.description.contains("\n"))
        }
    }
}

/// Exit codes and `--help`, through the command line's own entry point.
@Suite("Command line")
struct CommandLineTests {
    @Test func helpListsEveryCommandAndEveryOptionWithItsVariableAndDefault() {
        let usage = TodoCommandLine.usage
        for command in TodoCommandLine.commands {
            #expect(usage.contains("  " + command.synopsis), "\(command.name)")
        }
        for option in Option.all {
            if let flag = option.flag { #expect(usage.contains(flag), "\(flag)") }
            if let variable = option.variable { #expect(usage.contains(variable), "\(variable)") }
        }
        #expect(usage.contains("--threads N") && usage.contains("(TODO_THREADS, default 8)"))
        #expect(usage.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func exitCodes() {
        let environment = ["BETTER_AUTH_SECRET": "a-shared-secret-of-at-least-32-bytes!"]
        #expect(TodoCommandLine.run(arguments: ["--version"], environment: { environment[$0] }) == 0)
        #expect(TodoCommandLine.run(arguments: ["frobnicate"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["migrate", "extra"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["token"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["token", "--sub", "alice"], environment: { environment[$0] }) == 0)
        let missing = "/tmp/todo-fcgi-missing-\(UInt64.random(in: 0...UInt64.max)).db"
        #expect(TodoCommandLine.run(arguments: ["backup", "--database", missing, missing + ".copy"], environment: { environment[$0] }) == 1)
        #expect(access(missing, F_OK) != 0)  // a mistyped database is never created
    }
}

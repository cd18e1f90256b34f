import PostgresStorage
import SQLiteStorage
import Testing
import TodoAPI
@testable import TodoServer

#if canImport(Glibc)
import Glibc
#endif

/// The whole configuration `serve` and `check` build.
@Suite("Server configuration")
struct ServerConfigurationTests {
    static let secret = ["BETTER_AUTH_SECRET": "a-shared-secret-of-at-least-32-bytes!"]

    /// Hardening round 3, item 4: waiting requests hold a connection each, so the room is capped
    /// to leave a quarter of `--max-connections` (at least two per thread) to other requests
    /// (before, 50 waiters could hold all 30 connections and a plain GET waited in the backlog).
    @Test func theWaitRoomAlwaysLeavesConnectionsForPlainRequests() throws {
        let defaults = try SettingsTests.settings([], Self.secret).serverConfiguration()
        #expect(defaults.waitRoomCapacity == 10_000 && defaults.maximumWaitsPerUser == 10)
        let small = try SettingsTests.settings(["--max-connections", "30", "--max-waiters", "50", "--threads", "4"], Self.secret)
            .serverConfiguration()
        #expect(small.connectionsKeptFromWaiters == 8)
        #expect(small.waitRoomCapacity == 22)
        let tiny = try SettingsTests.settings(["--max-connections", "10", "--threads", "8"], Self.secret).serverConfiguration()
        #expect(tiny.waitRoomCapacity == 0)
        let large = try SettingsTests.settings(["--max-connections", "1000", "--max-waiters", "1000"], Self.secret).serverConfiguration()
        #expect(large.waitRoomCapacity == 750)
        let perUser = try SettingsTests.settings(["--max-waits-per-user", "3"], Self.secret).serverConfiguration()
        #expect(perUser.maximumWaitsPerUser == 3)
        #expect(throws: ConfigurationError.self) { try SettingsTests.settings(["--max-waits-per-user", "0"], Self.secret).serverConfiguration() }
    }

    @Test func defaults() throws {
        let configuration = try SettingsTests.settings([], Self.secret).serverConfiguration()
        #expect(configuration.threads == 8)
        #expect(configuration.backlog == 1024)
        #expect(configuration.listenAddress == nil)
        let sqlite = try #require(configuration.backend as? SQLiteBackend)
        #expect(sqlite.options.path == "./todo.db")
        #expect(sqlite.options.synchronous == .full)
        #expect(configuration.metricsPath == "./todo.db.metrics")
        #expect(configuration.dispatcher.maximumConnections == 16384)
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
        let sqlite = try #require(configuration.backend as? SQLiteBackend)
        #expect(sqlite.options.path == "/tmp/x.db" && sqlite.options.synchronous == .normal)
        #expect(configuration.dispatcher.maximumConnections == 10)
        #expect(configuration.dispatcher.queueTimeoutNanoseconds == 250_000_000)
        #expect(configuration.cors.allowedOrigins == ["https://app.example.com"])
        #expect(configuration.logLevel == .notice)
    }

    @Test func aPostgresURISelectsPostgreSQLAndNeverShowsItsPassword() throws {
        for uri in ["postgresql://todo:hunter2-secret@db.internal:6432/tasks?sslmode=verify-full",
                    "postgres://todo:hunter2-secret@db.internal:6432/tasks?sslmode=verify-full"] {
            let configuration = try SettingsTests.settings(["--database", uri], Self.secret).serverConfiguration()
            let backend = try #require(configuration.backend as? PostgresBackend)
            #expect(backend.displayName == "postgresql://todo@db.internal:6432/tasks sslmode=verify-full")
            #expect(!backend.displayName.contains("hunter2"))
            #expect(backend.databaseFile == nil)
        }
    }

    @Test func anythingElseIsAnSQLiteFile() throws {
        for path in ["todo.db", "/var/lib/todo-fcgi/todo.db", "postgresql.db", "postgresql:/x", "file:todo.db"] {
            let configuration = try SettingsTests.settings(["--database", path], Self.secret).serverConfiguration()
            #expect((configuration.backend as? SQLiteBackend)?.options.path == path)
        }
    }

    @Test func withPostgreSQLTheMetricsFileIsPerHost() throws {
        let uri = ["--database", "postgresql://todo@/tasks?host=/run/postgresql"]
        #expect(try SettingsTests.settings(uri, Self.secret).serverConfiguration().metricsPath == "./todo-fcgi.metrics")
        var systemd = Self.secret
        systemd["STATE_DIRECTORY"] = "/var/lib/todo-fcgi"
        #expect(try SettingsTests.settings(uri, systemd).serverConfiguration().metricsPath == "/var/lib/todo-fcgi/todo-fcgi.metrics")
        #expect(try SettingsTests.settings(uri + ["--metrics-file", "off"], Self.secret).serverConfiguration().metricsPath == nil)
    }

    @Test func aMalformedPostgresURIIsAConfigurationError() throws {
        #expect(throws: ConfigurationError.self) {
            _ = try SettingsTests.settings(["--database", "postgresql://todo@/tasks?nosuchoption=1"], Self.secret).serverConfiguration()
        }
    }

    @Test(arguments: [
        (["--synchronous", "off"], [:], "--synchronous must be full or normal, got \"off\""),
        (["--database", "postgresql://todo@/tasks", "--postgres-statements", "prepared"], [:],
         "--postgres-statements must be named or unnamed, got \"prepared\""),
        (["--database", "postgresql://todo@/tasks"], ["TODO_POSTGRES_STATEMENTS": "none"],
         "--postgres-statements must be named or unnamed, got \"none\""),
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

import Dispatcher
import JWT
import PostgreSQL
import PostgresStorage
import SQLiteStorage
import Serving
import TaskModel
import TodoAPI

extension Settings {
    /// The whole configuration of `serve` (and `check`), every setting validated.
    func serverConfiguration() throws(ConfigurationError) -> ServerConfiguration {
        let backend = try backend()
        var configuration = ServerConfiguration(listenAddress: value(.listen), backlog: Int32(try integer(.backlog)),
                                                threads: try integer(.threads), backend: backend, jwt: try jwtConfiguration(),
                                                cors: try corsPolicy(), logLevel: try logLevel(), dispatcher: try dispatcherSettings(),
                                                metricsPath: metricsPath(databaseFile: backend.databaseFile),
                                                maximumWaiters: try integer(.maxWaiters), maximumWaitsPerUser: try integer(.maxWaitsPerUser))
        // A server database can fail over to another server; an SQLite file that fails stays failed.
        let wait = try integer(.databaseWait)
        configuration.databaseWaitNanoseconds = backend.databaseFile == nil ? UInt64(wait) * 1_000_000_000 : 0
        return configuration
    }

    /// `--metrics-file` / `TODO_METRICS_FILE`, nil for `off`. By default beside an SQLite
    /// database (a place every worker process of this database can write); with PostgreSQL,
    /// whose processes share no file, `todo-fcgi.metrics` in systemd's state directory
    /// (`$STATE_DIRECTORY`) or else the working directory: one file per host.
    func metricsPath(databaseFile: String?) -> String? {
        guard let value = value(.metricsFile) else {
            if let databaseFile { return databaseFile + ".metrics" }
            let directory = environment("STATE_DIRECTORY").flatMap { $0.split(separator: ":").first.map(String.init) } ?? "."
            return directory + "/todo-fcgi.metrics"
        }
        return value.lowercased() == "off" ? nil : value
    }

    /// The database: `--database` / `TODO_DATABASE` (a `postgresql://` or `postgres://` URI
    /// selects PostgreSQL, anything else is an SQLite file) and `--synchronous` / `TODO_SYNCHRONOUS`.
    /// With `--read-database` / `TODO_READ_DATABASE`, which only a PostgreSQL database takes.
    func backend() throws(ConfigurationError) -> any TaskBackend {
        let name = valueOrDefault(.database)
        let readDatabase = value(.readDatabase)
        if let readDatabase {
            guard PostgresConnectionString.isPostgres(name), PostgresConnectionString.isPostgres(readDatabase) else {
                throw ConfigurationError("--read-database needs a PostgreSQL --database and a postgresql:// URI of its hot standby")
            }
        }
        return try backend(named: name, readDatabase: readDatabase)
    }

    /// The database `name` names: a PostgreSQL URI (whose hot standby `readDatabase` serves the
    /// reads that may lag) or an SQLite path.
    func backend(named name: String, readDatabase: String? = nil) throws(ConfigurationError) -> any TaskBackend {
        let cacheSize = try integer(.statementCache)
        if PostgresConnectionString.isPostgres(name) {
            let modeName = valueOrDefault(.postgresStatements)
            guard let mode = PostgresStatementMode(rawValue: modeName.lowercased()) else {
                throw ConfigurationError("--postgres-statements must be named or unnamed, got \"\(modeName)\"")
            }
            do {
                return try PostgresBackend(connectionString: name, listStatementCacheSize: cacheSize, statementMode: mode,
                                           listenConnectionString: value(.postgresListen), readConnectionString: readDatabase,
                                           warn: { Log.write(.warn, $0) })
            } catch {
                throw ConfigurationError("--database: \(error.message)")
            }
        }
        var options = TaskDatabase.Options(path: name)
        options.listStatementCacheSize = cacheSize
        let mode = valueOrDefault(.synchronous)
        guard let synchronous = TaskDatabase.Synchronous(rawValue: mode.lowercased()) else {
            throw ConfigurationError("--synchronous must be full or normal, got \"\(mode)\"")
        }
        options.synchronous = synchronous
        return SQLiteBackend(options: options)
    }

    /// `--max-connections`, `--queue-timeout` (milliseconds, below nginx's 30 s
    /// `fastcgi_read_timeout`), and libfcgi's `FCGI_WEB_SERVER_ADDRS` allow-list for TCP peers.
    func dispatcherSettings() throws(ConfigurationError) -> DispatcherSettings {
        var settings = DispatcherSettings()
        settings.maximumConnections = try integer(.maxConnections)
        settings.queueTimeoutNanoseconds = UInt64(try integer(.queueTimeout)) * 1_000_000
        do {
            settings.allowedPeers = try PeerAllowList(parsing: value(.webServerAddresses))
        } catch {
            throw ConfigurationError(error.description)
        }
        return settings
    }

    /// `TODO_CORS_ORIGINS`: the origins allowed to call the API from a browser (default none).
    func corsPolicy() throws(ConfigurationError) -> CORSPolicy {
        do {
            return try CORSPolicy(list: value(.corsOrigins) ?? "")
        } catch {
            throw ConfigurationError(error.description)
        }
    }

    /// `--log-level` / `TODO_LOG_LEVEL`.
    func logLevel() throws(ConfigurationError) -> LogLevel {
        let name = valueOrDefault(.logLevel)
        guard let level = LogLevel(name: name) else {
            throw ConfigurationError("--log-level must be error, warn, notice, info or debug, got \"\(name)\"")
        }
        return level
    }
}

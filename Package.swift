// swift-tools-version: 6.0
import PackageDescription

/// todo-fcgi: a FastCGI task API behind nginx. Each C library is reached only through its
/// Swift wrapper module: libfcgi (FastCGI), sqlite3 (SQLite), libpq (PostgreSQL), libcrypto (Crypto), libcurl
/// (HTTPFetch, for fetching a JWKS over HTTPS) and Linux epoll (Dispatcher, which hands
/// connections with a request ready to free worker threads).
let package = Package(
    name: "todo-fcgi",
    products: [
        .executable(name: "todo-fcgi", targets: ["todo-fcgi"]),
        // The application logic and its parsers over SQLite, for FuzzTesting/ (a package of its own).
        .library(name: "TodoAPI", targets: ["TodoAPI", "TaskModel", "SQLiteStorage", "SQLite", "APITables", "JWT", "Crypto", "JSON", "ICalendar", "XML"]),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CEventPoll"),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CAtomics"),

        // Small shared pieces with no C library: ASCII digits and spaces, the two clocks.
        .target(name: "ASCII"),
        .target(name: "Clocks"),
        .target(name: "Locks"),
        // A least-recently-used bound for per-connection prepared statements.
        .target(name: "Caching"),
        // The route, status and error-code tables that the router, the errors, the metrics labels
        // and nginx's allow map are all read from.
        .target(name: "APITables"),

        .target(name: "FastCGI", dependencies: ["CFastCGI"]),
        .target(name: "Dispatcher", dependencies: ["CEventPoll", "Clocks", "FastCGI", "Locks"]),
        // Counters and gauges of every worker process in one shared file, for /metrics.
        // A SIGBUS guard for the shared metrics mapping: a signal handler, so in C.
        .target(name: "CMappingGuard"),
        // The one way a file shared by the worker processes is made and mapped (metrics, live
        // sync's change page): replaced by rename, never shrunk in place, a fault in it caught.
        .target(name: "SharedMapping", dependencies: ["CMappingGuard"]),
        .target(name: "Metrics", dependencies: ["CAtomics", "SharedMapping", "APITables"]),
        .target(name: "SQLite", dependencies: ["CSQLite", "Caching"]),
        .target(name: "PostgreSQL", dependencies: ["CPostgres", "ASCII", "Caching"]),
        .target(name: "JSON", dependencies: ["ASCII"]),
        .target(name: "Crypto", dependencies: ["CCrypto", "ASCII"]),
        .target(name: "JWT", dependencies: ["Crypto", "JSON", "ASCII", "Locks"]),
        .target(name: "HTTPFetch", dependencies: ["CCurl", "ASCII"]),
        // iCalendar (RFC 5545) text: content lines, components, TEXT and DATE-TIME values, and
        // time zones from the system's tzdata or an object's VTIMEZONE. No task model, no HTTP.
        .target(name: "ICalendar", dependencies: ["Clocks", "Locks"]),
        // A small XML reader for WebDAV bodies, with no DTD support to turn off: nothing is fetched
        // or expanded. No HTTP, no DAV semantics.
        .target(name: "XML", dependencies: ["ASCII"]),
        // The task model: tasks, their rules, the list query, sync pages, the column table and
        // the store protocols every backend implements. No database driver, no HTTP.
        .target(name: "TaskModel", dependencies: ["ASCII", "Clocks", "Crypto", "JSON", "Locks"]),
        // One module per backend: the task model over its driver.
        .target(name: "SQLiteStorage", dependencies: ["TaskModel", "SQLite", "ASCII", "Caching", "Clocks", "Locks", "CAtomics",
                                                      "SharedMapping"]),
        .target(name: "PostgresStorage", dependencies: ["TaskModel", "PostgreSQL", "ASCII", "Clocks", "Caching", "Locks"]),
        // The same rules in memory: the application's unit tests and the conformance suite's reference.
        .target(name: "MemoryStorage", dependencies: ["TaskModel", "Clocks", "Locks"]),
        // The HTTP application: routes, authentication, validation, rendering. It sees the task
        // model only, never a database driver.
        .target(name: "TodoAPI", dependencies: ["APITables", "TaskModel", "JSON", "JWT", "Crypto", "ASCII", "Clocks", "ICalendar", "XML"]),
        // Configuration, commands and the worker pool: a library, so they are unit-tested;
        // the executable is only its entry point.
        // The one place that names both backends.
        // The serving runtime: the worker pool, how each request ends, the wait room, the log.
        .target(name: "Serving", dependencies: ["APITables", "FastCGI", "Dispatcher", "TodoAPI", "TaskModel", "JWT", "Clocks",
                                                "Metrics", "Locks", "CMalloc"]),
        .target(name: "TodoServer", dependencies: ["Serving", "APITables", "FastCGI", "Dispatcher", "TodoAPI", "TaskModel", "SQLiteStorage",
                                                   "PostgresStorage", "PostgreSQL", "JWT", "Crypto", "HTTPFetch", "JSON", "Clocks", "Metrics",
                                                   "ASCII", "Locks", "CMalloc"]),
        .executableTarget(name: "todo-fcgi", dependencies: ["TodoServer"]),
        .executableTarget(name: "todo-bench", dependencies: ["TodoAPI", "TaskModel", "SQLiteStorage", "PostgresStorage", "JWT", "Crypto", "SQLite",
                                                           "Clocks", "Metrics"]),

        .testTarget(name: "ASCIITests", dependencies: ["ASCII"]),
        .testTarget(name: "CachingTests", dependencies: ["Caching"]),
        .testTarget(name: "LocksTests", dependencies: ["Locks"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "ICalendarTests", dependencies: ["ICalendar", "Clocks"]),
        .testTarget(name: "XMLTests", dependencies: ["XML"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "APITables"]),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite"]),
        .testTarget(name: "PostgreSQLTests", dependencies: ["PostgreSQL"]),
        .testTarget(name: "DispatcherTests", dependencies: ["Dispatcher", "Clocks", "Locks"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "JWTTests", dependencies: ["JWT", "Crypto", "JSON", "HTTPFetch"]),
        .testTarget(name: "TaskModelTests", dependencies: ["TaskModel", "JSON"]),
        // One suite every TaskStore passes: memory, SQLite, and PostgreSQL when TODO_TEST_POSTGRES names a server.
        .testTarget(name: "TaskStoreConformanceTests", dependencies: ["TaskModel", "MemoryStorage", "SQLiteStorage", "SQLite", "PostgresStorage", "PostgreSQL", "Locks", "Clocks"]),
        .testTarget(name: "SQLiteStorageTests", dependencies: ["SQLiteStorage", "TaskModel", "SQLite", "Locks", "Clocks"]),
        .testTarget(name: "TodoAPITests", dependencies: ["APITables", "Metrics", "TodoAPI", "TaskModel", "MemoryStorage", "JWT", "Crypto", "JSON", "Clocks", "Locks"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "TodoAPI", "TaskModel", "Clocks", "FastCGI", "Locks"]),
        .testTarget(name: "TodoServerTests", dependencies: ["TodoServer", "Serving", "TodoAPI", "TaskModel", "SQLiteStorage", "PostgresStorage", "JWT", "Crypto", "Clocks", "FastCGI", "Locks"]),
    ],
    swiftLanguageModes: [.v6]
)

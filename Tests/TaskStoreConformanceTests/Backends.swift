import MemoryStorage
import PostgreSQL
import PostgresStorage
import SQLite
import SQLiteStorage
import TaskModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The backends every conformance test runs on: memory and SQLite always, PostgreSQL when
/// `TODO_TEST_POSTGRES` names a server (scripts/test.sh starts one, so CI runs all three).
enum BackendKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite, postgresql

    static let available: [BackendKind] = allCases.filter { $0 != .postgresql || postgresAdminURI != nil }

    var testDescription: String { rawValue }

    static var postgresAdminURI: String? {
        getenv("TODO_TEST_POSTGRES").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A fresh, empty, migrated database of one kind, removed when released.
final class FreshDatabase {
    let kind: BackendKind
    let backend: any TaskBackend
    /// The SQLite file or the PostgreSQL URI ("" in memory).
    let location: String
    private let cleanup: () -> Void

    /// `migrated: false` leaves a PostgreSQL database or SQLite path without any schema.
    init(_ kind: BackendKind, migrated: Bool = true) throws {
        self.kind = kind
        switch kind {
        case .memory:
            backend = try MemoryTaskBackend()
            location = ""
            cleanup = {}
        case .sqlite:
            let path = "/tmp/todo-fcgi-conformance-\(UInt64.random(in: 0...UInt64.max)).db"
            backend = SQLiteBackend(options: TaskDatabase.Options(path: path))
            location = path
            cleanup = { for suffix in ["", "-wal", "-shm", ".metrics", ".changes"] { unlink(path + suffix) } }
        case .postgresql:
            let admin = try PostgresConnection(connectionString: BackendKind.postgresAdminURI ?? "")
            let name = "todo_conformance_\(UInt64.random(in: 0...UInt64.max))"
            try admin.execute("CREATE DATABASE \(name) OWNER todo")
            let uri = Self.replacingUserAndDatabase(in: BackendKind.postgresAdminURI ?? "", user: "todo", database: name)
            backend = try PostgresBackend(connectionString: uri)
            location = uri
            cleanup = { try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        }
        if migrated { try backend.migrate() }
    }

    deinit { cleanup() }

    /// A store of this database for the calling thread.
    func store() throws -> any TaskStore { try backend.makeStore() }

    /// Runs `sql` on a connection of its own (as the workers' role on PostgreSQL).
    func execute(_ sql: String) throws {
        switch kind {
        case .memory: break
        case .sqlite: try SQLiteConnection(path: location).execute(sql)
        case .postgresql: try PostgresConnection(connectionString: location).execute(sql)
        }
    }

    /// The same database as another worker process opens it (memory has no other process: the
    /// same backend).
    func backendOfAnotherProcess() throws -> any TaskBackend {
        switch kind {
        case .memory: return backend
        case .sqlite: return SQLiteBackend(options: TaskDatabase.Options(path: location))
        case .postgresql: return try PostgresBackend(connectionString: location)
        }
    }

    /// `postgresql://USER@/DATABASE?…` from the admin URI `postgresql://postgres@/postgres?…`.
    static func replacingUserAndDatabase(in uri: String, user: String, database: String) -> String {
        guard let schemeEnd = uri.firstRange(of: "://") else { return uri }
        let rest = uri[schemeEnd.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        let hostPart = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let host = hostPart.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init) ?? ""
        return "postgresql://\(user)@\(hostPart.contains("@") ? host : String(hostPart))/\(database)\(query)"
    }
}

/// The columns of the `tasks` table as the database itself describes them: name and kind.
func schemaColumns(of database: FreshDatabase) throws -> [(name: String, kind: TaskColumn.Kind)] {
    switch database.kind {
    case .memory:
        return []
    case .sqlite:
        let connection = try TaskDatabase.open(TaskDatabase.Options(path: database.location), migrate: false)
        let statement = try connection.prepare("SELECT name, type FROM pragma_table_info('tasks') ORDER BY cid")
        var columns: [(String, TaskColumn.Kind)] = []
        while try statement.step() {
            let type = statement.string(at: 1) ?? ""
            columns.append((statement.string(at: 0) ?? "", type == "TEXT" ? .text : .integer))
        }
        return columns
    case .postgresql:
        let connection = try PostgresConnection(connectionString: database.location)
        let result = try connection.query("""
            SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tasks' ORDER BY ordinal_position
            """)
        return (0..<result.rowCount).map { row in
            let type = result.text(row: row, column: 1) ?? ""
            return (result.text(row: row, column: 0) ?? "", type == "text" ? .text : type == "boolean" ? .boolean : .integer)
        }
    }
}

/// The definitions of every index on `tasks`, as the database itself holds them, sorted.
func indexDefinitions(of database: FreshDatabase) throws -> [String] {
    switch database.kind {
    case .memory:
        return []
    case .sqlite:
        let connection = try TaskDatabase.open(TaskDatabase.Options(path: database.location), migrate: false)
        let statement = try connection.prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'tasks' AND sql IS NOT NULL ORDER BY sql")
        var definitions: [String] = []
        while try statement.step() { definitions.append(statement.string(at: 0) ?? "") }
        return definitions
    case .postgresql:
        let connection = try PostgresConnection(connectionString: database.location)
        let result = try connection.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexdef")
        return (0..<result.rowCount).map { result.text(row: $0, column: 0) ?? "" }
    }
}

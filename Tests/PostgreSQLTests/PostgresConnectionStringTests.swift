import PostgreSQL
import Testing

/// Telling URIs from paths, and showing or passing a connection string without its password.
@Suite("PostgreSQL connection strings")
struct PostgresConnectionStringTests {
    @Test func onlyPostgresURIsSelectPostgreSQL() {
        #expect(PostgresConnectionString.isPostgres("postgresql://todo@/todo"))
        #expect(PostgresConnectionString.isPostgres("postgres://todo@db/todo"))
        for path in ["todo.db", "/var/lib/todo.db", "postgresql.db", "postgresql:/x", "POSTGRESQL://x", "file:todo.db", ""] {
            #expect(!PostgresConnectionString.isPostgres(path), "\(path)")
        }
    }

    @Test func theRedactedFormNeverHoldsThePassword() throws {
        let uri = "postgresql://todo:s3cr%40t@db.internal:6432/tasks?sslmode=verify-full&application_name=x"
        let shown = try PostgresConnectionString.redacted(uri)
        #expect(shown == "postgresql://todo@db.internal:6432/tasks sslmode=verify-full")
        #expect(!shown.contains("s3cr"))
        let keywords = try PostgresConnectionString.redacted("host=/run/postgresql dbname=todo user=todo password=hunter2")
        #expect(keywords == "postgresql://todo@/run/postgresql/todo")
        #expect(try PostgresConnectionString.redacted("postgresql:///todo") == "postgresql://(PGHOST or the default socket)/todo")
    }

    @Test func theEnvironmentFormCarriesEverySettingToLibpqTools() throws {
        let variables = try PostgresConnectionString.environment(
            "postgresql://todo:pw@db.internal:6432/tasks?sslmode=require&options=-c%20statement_timeout%3D5s")
        #expect(variables["PGUSER"] == "todo")
        #expect(variables["PGPASSWORD"] == "pw")
        #expect(variables["PGHOST"] == "db.internal")
        #expect(variables["PGPORT"] == "6432")
        #expect(variables["PGDATABASE"] == "tasks")
        #expect(variables["PGSSLMODE"] == "require")
        #expect(variables["PGOPTIONS"] == "-c statement_timeout=5s")
    }

    @Test(arguments: ["postgresql://todo@/todo?nosuchoption=1", "postgresql://[::1/todo", "host=/tmp dbname='unterminated"])
    func aMalformedStringIsRefusedWithLibpqsReason(_ text: String) {
        #expect(throws: PostgresError.self) { _ = try PostgresConnectionString.redacted(text) }
        #expect(throws: PostgresError.self) { _ = try PostgresConnectionString.environment(text) }
    }

    @Test func anUnreachableServerIsAnUnavailableConnectionError() {
        do {
            _ = try PostgresConnection(connectionString: "postgresql://todo@/todo?host=/nonexistent-socket-dir&connect_timeout=2")
            Issue.record("connected to a server that does not exist")
        } catch {
            #expect(error.connectionLost)
            #expect(error.isUnavailable)
            #expect(error.sqlState == nil)
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func errorClassesMapToWhatTheServiceCanDo() {
        #expect(PostgresError(sqlState: "57P01", message: "terminating connection due to administrator command").isUnavailable)
        #expect(PostgresError(sqlState: "08006", message: "connection failure").isUnavailable)
        #expect(PostgresError(sqlState: "53300", message: "too many connections").isUnavailable)
        #expect(PostgresError(sqlState: "25006", message: "read-only transaction").isUnavailable)
        #expect(PostgresError(sqlState: "40001", message: "serialization failure").isBusy)
        #expect(PostgresError(sqlState: "40P01", message: "deadlock").isBusy)
        #expect(PostgresError(sqlState: "57014", message: "statement timeout").isBusy)
        #expect(PostgresError(sqlState: "23505", message: "unique violation").isConstraintViolation)
        let syntax = PostgresError(sqlState: "42601", message: "syntax error")
        #expect(!syntax.isUnavailable && !syntax.isBusy && !syntax.isConstraintViolation)
    }
}

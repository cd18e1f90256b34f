import SQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("SQLite wrapper")
struct SQLiteWrapperTests {
    func memory() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT, number INTEGER)")
        return connection
    }

    @Test func bindsAndReadsBack() throws {
        let db = try memory()
        let insert = try db.cachedStatement("INSERT INTO t (text, number) VALUES (?1, ?2)")
        try insert.bind("héllo", at: 1)
        try insert.bind(Int64.max, at: 2)
        try insert.run()
        let select = try db.cachedStatement("SELECT text, number FROM t")
        defer { select.reset() }
        #expect(try select.step())
        #expect(select.string(at: 0) == "héllo")
        #expect(select.int64(at: 1) == Int64.max)
        #expect(try select.step() == false)
    }

    @Test func emptyStringIsNotNullAndNulBytesSurvive() throws {
        let db = try memory()
        let insert = try db.cachedStatement("INSERT INTO t (id, text) VALUES (?1, ?2)")
        try insert.bind(Int64(1), at: 1)
        try insert.bind("", at: 2)
        try insert.run()
        try insert.bind(Int64(2), at: 1)
        try insert.bind("a\u{0}b", at: 2)
        try insert.run()
        try insert.bind(Int64(3), at: 1)
        try insert.bind(nil as String?, at: 2)
        try insert.run()
        let select = try db.cachedStatement("SELECT text FROM t ORDER BY id")
        defer { select.reset() }
        #expect(try select.step())
        #expect(select.isNull(at: 0) == false)
        #expect(select.string(at: 0) == "")
        #expect(try select.step())
        #expect(select.string(at: 0) == "a\u{0}b")
        #expect(try select.step())
        #expect(select.string(at: 0) == nil)
    }

    @Test func cachedStatementsAreReusedAndReset() throws {
        let db = try memory()
        let first = try db.cachedStatement("SELECT 1")
        #expect(try first.step())
        let second = try db.cachedStatement("SELECT 1")
        #expect(first === second)
        #expect(try second.step())
        #expect(second.int64(at: 0) == 1)
        second.reset()
    }

    @Test func syntaxErrorsCarryCodeMessageAndSQL() throws {
        let db = try memory()
        do {
            _ = try db.prepare("SELEC nonsense")
            Issue.record("expected a prepare failure")
        } catch {
            #expect(error.code == .error)
            #expect(error.message.contains("syntax error"))
            #expect(error.sql == "SELEC nonsense")
        }
    }

    @Test func constraintViolationsAreTyped() throws {
        let db = try memory()
        try db.execute("INSERT INTO t (id) VALUES (1)")
        do {
            try db.execute("INSERT INTO t (id) VALUES (1)")
            Issue.record("expected a constraint failure")
        } catch {
            #expect(error.isConstraintViolation)
            #expect(!error.isBusy)
        }
    }

    @Test func lockedDatabaseIsReportedAsBusy() throws {
        let path = "/tmp/todo-fcgi-sqlite-busy-\(UInt64.random(in: 0...UInt64.max)).db"
        defer { unlink(path) }
        let writer = try SQLiteConnection(path: path)
        try writer.execute("CREATE TABLE t (id INTEGER)")
        let other = try SQLiteConnection(path: path)
        other.setBusyTimeout(milliseconds: 10)
        try writer.execute("BEGIN EXCLUSIVE")
        do {
            try other.execute("INSERT INTO t VALUES (1)")
            Issue.record("expected SQLITE_BUSY")
        } catch {
            #expect(error.isBusy)
        }
        try writer.execute("COMMIT")
        try other.execute("INSERT INTO t VALUES (1)")
        #expect(try other.scalarInteger("SELECT count(*) FROM t") == 1)
    }

    @Test func openingAMissingDirectoryFails() {
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: "/nonexistent-dir/x.db") }
    }
}

@Suite("SQLite shaped statements")
struct SQLiteShapedStatementTests {
    @Test func aShapeIsPreparedOnceAndTheCacheStaysBounded() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)")
        var prepared = 0
        func statement(_ shape: UInt64) throws -> SQLiteStatement {
            try db.cachedStatement(family: 1, shape: shape) {
                prepared += 1
                return "SELECT \(shape)"
            }
        }
        let first = try statement(1)
        #expect(try statement(1) === first)
        #expect(prepared == 1)
        // Another family with the same shape number is another statement.
        let other = try db.cachedStatement(family: 2, shape: 1) { "SELECT 'other'" }
        #expect(other !== first)
        // Past 64 shapes the least recently used are dropped and made again when asked for.
        for shape in 2...100 as ClosedRange<UInt64> { _ = try statement(shape) }
        #expect(prepared == 100)
        _ = try statement(1)
        #expect(prepared == 101)
        let again = try statement(100)
        #expect(prepared == 101)
        #expect(try again.step())
        #expect(again.int64(at: 0) == 100)
    }
}

import PostgreSQL
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The admin URI of the test server, when there is one.
func testServerURI() -> String? {
    getenv("TODO_TEST_POSTGRES").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
}

/// The wrapper against a real server: TODO_TEST_POSTGRES names one (scripts/test.sh starts a
/// throwaway server before the unit tests); without it these tests are reported as skipped.
@Suite("PostgreSQL connection", .enabled(if: testServerURI() != nil, "needs TODO_TEST_POSTGRES"))
struct PostgresConnectionTests {
    func connect() throws -> PostgresConnection {
        try PostgresConnection(connectionString: try #require(testServerURI()))
    }

    @Test func aListenerHearsNotificationsAfterTheCommitAndAPipelineDropsUnaskedOnes() throws {
        let listener = try connect()
        let notifier = try connect()
        try listener.execute("LISTEN todo_test_channel")
        try notifier.execute("BEGIN; NOTIFY todo_test_channel, 'one'")
        #expect(try #require(listener.awaitNotifications(timeoutMilliseconds: 200)).isEmpty, "nothing before the commit")
        try notifier.execute("COMMIT")
        var heard: [(channel: String, payload: [UInt8])] = []
        for _ in 0..<20 where heard.isEmpty { heard = try #require(listener.awaitNotifications(timeoutMilliseconds: 100)) }
        #expect(heard.map(\.channel) == ["todo_test_channel"] && heard.map(\.payload) == [Array("one".utf8)])
        // A connection that runs statements (a store's, behind a pooler) does not keep them.
        try notifier.execute("NOTIFY todo_test_channel, 'two'")
        usleep(200_000)
        _ = try listener.pipeline([.init("SELECT 1")])
        #expect(try #require(listener.awaitNotifications(timeoutMilliseconds: 0)).isEmpty)
    }

    @Test func aPipelineCommitsTogetherOrNotAtAll() throws {
        let connection = try connect()
        try connection.execute("CREATE TEMP TABLE items (n integer NOT NULL CHECK (n > 0))")
        let results = try connection.pipeline([.init("INSERT INTO items VALUES ($1::int)", ["1"]), .init("INSERT INTO items VALUES ($1::int)", ["2"]),
                                               .init("SELECT count(*) FROM items")])
        #expect(results.count == 3)
        #expect(results[2].int64(row: 0, column: 0) == 2)
        // The second statement fails: the first is rolled back with it, the third never runs.
        do {
            _ = try connection.pipeline([.init("INSERT INTO items VALUES ($1::int)", ["3"]), .init("INSERT INTO items VALUES ($1::int)", ["-1"]),
                                         .init("INSERT INTO items VALUES ($1::int)", ["4"])])
            Issue.record("a CHECK violation was accepted")
        } catch {
            #expect(error.isConstraintViolation && error.sqlState == "23514")
            #expect(!error.connectionLost)
        }
        #expect(try connection.query("SELECT string_agg(n::text, ',' ORDER BY n) FROM items").text(row: 0, column: 0) == "1,2")
        // And the connection serves the next pipeline as usual.
        #expect(try connection.pipeline([.init("SELECT $1::int + 1", ["41"])])[0].int64(row: 0, column: 0) == 42)
    }

    @Test func aTransactionLocalSettingLastsForItsPipelineOnly() throws {
        let connection = try connect()
        let results = try connection.pipeline([.init("SELECT set_config('todo.user_id', $1, true)", ["alice"]),
                                               .init("SELECT current_setting('todo.user_id', true)")])
        #expect(results[1].text(row: 0, column: 0) == "alice")
        let after = try connection.query("SELECT coalesce(current_setting('todo.user_id', true), '')")
        #expect(after.text(row: 0, column: 0) == "")
    }

    @Test func statementsArePreparedOncePerConnection() throws {
        let connection = try connect()
        for value in ["1", "2", "3"] {
            _ = try connection.pipeline([.init("SELECT $1::int * 2", [value]), .init("SELECT $1::int * 2", [value])])
        }
        let prepared = try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int * 2'")
        #expect(prepared.int64(row: 0, column: 0) == 1)
    }

    /// Before: every statement text stayed prepared for the connection's life (3,000 list shapes
    /// grew the server's backends by 345 MiB). Now the least recently used go past the limit.
    @Test func preparedStatementsAreBoundedLeastRecentlyUsedFirst() throws {
        let connection = try PostgresConnection(connectionString: try #require(testServerURI()), preparedStatementLimit: 4)
        let hot = "SELECT $1::int + 0"
        for number in 1...40 {
            let results = try connection.pipeline([.init(hot, ["1"]), .init("SELECT $1::int + \(number)", ["1"])])
            #expect(results[1].int64(row: 0, column: 0) == Int64(1 + number))
            #expect(connection.preparedStatementCount <= 4)
        }
        let onServer = try connection.query("SELECT count(*), count(*) FILTER (WHERE statement = $1) FROM pg_prepared_statements", [hot])
        #expect(onServer.int64(row: 0, column: 0) <= 5)  // the last eviction is deallocated before the next pipeline
        #expect(onServer.int64(row: 0, column: 1) == 1)  // the statement used all along stayed prepared
        // An evicted statement is prepared again when it comes back, under a new name.
        #expect(try connection.pipeline([.init("SELECT $1::int + 1", ["1"])])[0].int64(row: 0, column: 0) == 2)
        // Evictions inside a transaction block wait for its end (a failure cannot abort it).
        try connection.execute("BEGIN")
        for number in 41...50 { _ = try connection.pipeline([.init("SELECT $1::int + \(number)", ["1"])]) }
        try connection.execute("COMMIT")
        _ = try connection.pipeline([.init(hot, ["1"])])
        #expect(try connection.query("SELECT count(*) FROM pg_prepared_statements").int64(row: 0, column: 0) <= 5)
    }

    @Test func unnamedStatementsPrepareNothingAndKeepEveryPipelineRule() throws {
        let connection = try PostgresConnection(connectionString: try #require(testServerURI()), statementMode: .unnamed)
        try connection.execute("CREATE TEMP TABLE items (n integer NOT NULL CHECK (n > 0))")
        for value in ["1", "2"] {
            let results = try connection.pipeline([.init("INSERT INTO items VALUES ($1::int)", [value]), .init("SELECT count(*) FROM items")])
            #expect(results[1].int64(row: 0, column: 0) == Int64(value))
        }
        #expect(throws: PostgresError.self) {
            _ = try connection.pipeline([.init("INSERT INTO items VALUES ($1::int)", ["3"]), .init("INSERT INTO items VALUES ($1::int)", ["-1"])])
        }
        #expect(try connection.query("SELECT count(*) FROM items").int64(row: 0, column: 0) == 2)
        #expect(connection.preparedStatementCount == 0)
        #expect(try connection.query("SELECT count(*) FROM pg_prepared_statements").int64(row: 0, column: 0) == 0)
        // Text with a NUL is refused, not shortened, as with named statements.
        do {
            _ = try connection.pipeline([.init("SELECT $1::text", ["a\u{0}b"])])
            Issue.record("a value with U+0000 was accepted")
        } catch {
            #expect(error.sqlState == "22021")
        }
    }

    /// What a transaction-mode pooler does to named statements (the next transaction reaches a
    /// server connection that never saw them), here by deallocating them: the pipeline fails
    /// with nothing committed, the connection turns unnamed for good, and the same steps then work.
    @Test func aMissingPreparedStatementTurnsTheConnectionUnnamed() throws {
        let connection = try connect()
        try connection.execute("CREATE TEMP TABLE items (n integer NOT NULL)")
        let steps: [PostgresConnection.Step] = [.init("INSERT INTO items VALUES ($1::int)", ["1"]), .init("SELECT count(*) FROM items")]
        #expect(try connection.pipeline(steps)[1].int64(row: 0, column: 0) == 1)
        #expect(connection.statementMode == .named)
        let names = try connection.query("SELECT string_agg(name, ',') FROM pg_prepared_statements").text(row: 0, column: 0) ?? ""
        // Names are this connection's own (a random prefix), never another client's `todo_1`.
        #expect(names.hasPrefix("todo_") && !names.split(separator: ",").contains { $0.split(separator: "_").count != 3 })
        try connection.execute("DEALLOCATE ALL")
        do {
            _ = try connection.pipeline(steps)
            Issue.record("a missing prepared statement was not noticed")
        } catch {
            #expect(error.isPreparedStatementMissing && !error.connectionLost)
        }
        #expect(connection.statementMode == .unnamed && !connection.inTransaction)
        #expect(try connection.query("SELECT count(*) FROM items").int64(row: 0, column: 0) == 1)
        #expect(try connection.pipeline(steps)[1].int64(row: 0, column: 0) == 2)
        #expect(try connection.query("SELECT count(*) FROM pg_prepared_statements").int64(row: 0, column: 0) == 0)
    }

    /// An error says what failed, never which values: DETAIL (`Key (v)=(…) already exists`) and
    /// HINT can quote a row, so neither reaches the message that is logged.
    @Test func anErrorCarriesItsSQLStateAndPrimaryMessageButNoRowValues() throws {
        let connection = try connect()
        try connection.execute("CREATE TEMP TABLE items (v text UNIQUE)")
        _ = try connection.pipeline([.init("INSERT INTO items VALUES ($1)", ["private-row-value"])])
        do {
            _ = try connection.pipeline([.init("INSERT INTO items VALUES ($1)", ["private-row-value"])])
            Issue.record("a duplicate was accepted")
        } catch {
            #expect(error.sqlState == "23505" && error.message.contains("duplicate key value violates unique constraint"))
            #expect(!error.description.contains("private-row-value") && !error.description.contains("DETAIL"), "\(error)")
        }
        do {
            _ = try connection.query("SELECT $1::int", ["not-a-number-secret"])
            Issue.record("a bad integer was accepted")
        } catch {
            #expect(error.sqlState == "22P02")
            // The primary message of 22P02 names the input itself: it is the client's own value,
            // never a stored row's, and it is the one message PostgreSQL gives.
            #expect(!error.description.contains("DETAIL"))
        }
    }

    @Test func aFailedPrepareIsNotRememberedAsPrepared() throws {
        let connection = try connect()
        #expect(throws: PostgresError.self) { _ = try connection.pipeline([.init("SELECT nosuchcolumn FROM pg_class")]) }
        #expect(throws: PostgresError.self) { _ = try connection.pipeline([.init("SELECT nosuchcolumn FROM pg_class")]) }
        #expect(try connection.pipeline([.init("SELECT 1")])[0].int64(row: 0, column: 0) == 1)
    }

    @Test func valuesDecodeAsTheirTypes() throws {
        let connection = try connect()
        let row = try connection.query("SELECT $1::bigint, true, false, NULL::text, $2::text, ''::text",
                                       ["-9223372036854775808", "Ω ünïcode 日本"])
        #expect(row.int64(row: 0, column: 0) == Int64.min)
        #expect(row.bool(row: 0, column: 1) && !row.bool(row: 0, column: 2))
        #expect(row.isNull(row: 0, column: 3) && row.text(row: 0, column: 3) == nil)
        #expect(row.text(row: 0, column: 4) == "Ω ünïcode 日本")
        #expect(!row.isNull(row: 0, column: 5) && row.text(row: 0, column: 5) == "")
        // A parameter is data, never SQL.
        let injected = try connection.query("SELECT $1::text", ["'); DROP TABLE pg_class; --"])
        #expect(injected.text(row: 0, column: 0) == "'); DROP TABLE pg_class; --")
    }

    /// Parameters go with their lengths: a value is never cut at a NUL (it was, as a C string:
    /// "nul\0tail" was stored as "nul"); the server refuses what text cannot hold.
    @Test func aValueWithANulIsRefusedNeverShortened() throws {
        let connection = try connect()
        for value in ["nul\u{0}tail", "\u{0}leading", "trailing\u{0}"] {
            do {
                let row = try connection.query("SELECT $1::text", [value])
                Issue.record("stored \(String(reflecting: row.text(row: 0, column: 0))) for \(String(reflecting: value))")
            } catch {
                #expect(error.sqlState == "22021" && !error.connectionLost)
            }
            do {
                _ = try connection.pipeline([.init("SELECT length($1)", [value])])
                Issue.record("a pipeline took \(String(reflecting: value))")
            } catch {
                #expect(error.sqlState == "22021")
            }
        }
        // Long values and every other control character arrive whole.
        let long = String(repeating: "é\u{1}\u{7F}😀", count: 20_000)
        #expect(try connection.query("SELECT $1::text", [long]).text(row: 0, column: 0) == long)
        #expect(try connection.pipeline([.init("SELECT length($1)", [long])])[0].int64(row: 0, column: 0) == 80_000)
    }

    @Test func aServerThatGoesAwayIsALostConnection() throws {
        let connection = try connect()
        let victim = try connect()
        let pid = try victim.query("SELECT pg_backend_pid()").text(row: 0, column: 0) ?? ""
        _ = try connection.query("SELECT pg_terminate_backend($1::int)", [pid])
        do {
            _ = try victim.pipeline([.init("SELECT 1")])
            Issue.record("a terminated connection answered")
        } catch {
            #expect(error.connectionLost && error.isUnavailable)
        }
        #expect(!victim.isConnected)
    }
}

/// COPY's text format: every byte a field may hold comes back exactly, NULL stays NULL.
@Suite("PostgreSQL COPY", .enabled(if: testServerURI() != nil, "needs TODO_TEST_POSTGRES"))
struct PostgresCopyTests {
    @Test func copiedRowsReadBackExactlyAndAFailedCopyStoresNothing() throws {
        let connection = try PostgresConnection(connectionString: try #require(testServerURI()))
        try connection.execute("CREATE TEMP TABLE copied (n bigint NOT NULL, t text, b boolean NOT NULL)")
        let texts: [String?] = ["plain", "tab\there", "line\nbreak\r\n", "back\\slash \\N", "", nil, "ünï 日本 \u{1F600}", "\\."]
        var buffer = PostgresCopyText()
        for (index, text) in texts.enumerated() {
            buffer.field(Int64(index))
            buffer.field(text)
            buffer.field(index % 2 == 0)
            buffer.endRow()
        }
        try connection.beginCopyIn("COPY copied (n, t, b) FROM STDIN")
        try connection.putCopyData(buffer.bytes)
        #expect(try connection.endCopyIn() == Int64(texts.count))
        let rows = try connection.query("SELECT t, b FROM copied ORDER BY n")
        for (index, text) in texts.enumerated() {
            #expect(rows.text(row: Int32(index), column: 0) == text, "row \(index)")
            #expect(rows.bool(row: Int32(index), column: 1) == (index % 2 == 0))
        }
        // A bad row fails the COPY at its end; the connection serves on.
        try connection.beginCopyIn("COPY copied (n, t, b) FROM STDIN")
        try connection.putCopyData(Array("99\tok\tt\nnot-a-number\tx\tf\n".utf8))
        #expect(throws: PostgresError.self) { try connection.endCopyIn() }
        #expect(try connection.query("SELECT count(*) FROM copied").int64(row: 0, column: 0) == Int64(texts.count))
        try connection.beginCopyIn("COPY copied (n, t, b) FROM STDIN")
        try connection.putCopyData(Array("100\tgone\tt\n".utf8))
        connection.abortCopyIn(reason: "abandoned")
        #expect(try connection.query("SELECT count(*) FROM copied").int64(row: 0, column: 0) == Int64(texts.count))
    }
}

extension PostgresConnectionTests {
    @Test func copyOutStreamsEveryRowAsSelectSeesIt() throws {
        let connection = try connect()
        try connection.execute("CREATE TEMP TABLE texts (id integer, body text, flag boolean)")
        let bodies: [String?] = ["plain", "tab\tnew\nline\rcr", "back\\slash\\N", nil, "", "ünïcödé 😀", String(repeating: "x", count: 100_000)]
        for (index, body) in bodies.enumerated() {
            _ = try connection.query("INSERT INTO texts VALUES ($1::int, $2, $3::boolean)", [String(index), body, index % 2 == 0 ? "true" : "false"])
        }
        try connection.beginCopyOut("COPY (SELECT id, body, flag FROM texts ORDER BY id) TO STDOUT")
        var row = PostgresCopyTextRow()
        var read: [String?] = []
        var flags: [String] = []
        while try connection.nextCopyRow(into: &row) {
            #expect(row.count == 3)
            read.append(row.isNull(1) ? nil : row.withField(1) { String(decoding: $0, as: UTF8.self) })
            flags.append(row.withField(2) { String(decoding: $0, as: UTF8.self) })
        }
        #expect(read == bodies)
        #expect(flags == ["t", "f", "t", "f", "t", "f", "t"])
        // The connection takes statements again after the COPY.
        #expect(try connection.query("SELECT count(*) FROM texts").int64(row: 0, column: 0) == Int64(bodies.count))
    }

    @Test func aCopyOutThatFailsThrowsAndLeavesTheConnectionUsable() throws {
        let connection = try connect()
        // Fails at its first row: division by zero.
        try connection.beginCopyOut("COPY (SELECT 1 / (g - 2) FROM generate_series(1, 3) AS g) TO STDOUT")
        var row = PostgresCopyTextRow()
        var failed = false
        do {
            while try connection.nextCopyRow(into: &row) {}
        } catch {
            failed = true
            #expect(error.sqlState == "22012", "\(error)")
        }
        #expect(failed)
        #expect(try connection.query("SELECT 7").int64(row: 0, column: 0) == 7)
        // Not a COPY TO STDOUT: refused before anything is read.
        #expect(throws: PostgresError.self) { try connection.beginCopyOut("SELECT 1") }
        #expect(try connection.query("SELECT 8").int64(row: 0, column: 0) == 8)
    }
}

import ASCII
import CPostgres
import Caching

#if canImport(Glibc)
import Glibc
#endif

/// How a connection sends a pipeline's statements.
public enum PostgresStatementMode: String, Sendable, CaseIterable {
    /// Prepared once per connection under a name, then executed by name: the server parses and
    /// plans each statement text once per connection.
    case named
    /// Sent whole with every execution as libpq's unnamed statement (parse, bind and execute
    /// before the same Sync): what a transaction-mode pooler that does not track named
    /// statements (PgBouncer before 1.21, or without `max_prepared_statements`; RDS Proxy,
    /// Supavisor, Odyssey) can pass on, at the cost of a parse per execution.
    case unnamed
}

/// One connection to PostgreSQL through libpq, owned by one thread.
///
/// Statements are prepared once per connection, lazily, in the same round trip as their first
/// use (or sent unnamed each time, see `PostgresStatementMode`); `pipeline` sends a request's
/// statements together and reads their results once, so a request costs one network round
/// trip. Not Sendable: libpq connections are not thread-safe.
public final class PostgresConnection {
    let handle: OpaquePointer
    /// How statements are sent; `named` turns `unnamed` for good when the server answers that a
    /// statement this connection prepared does not exist (a pooler moved it to another server
    /// connection).
    public private(set) var statementMode: PostgresStatementMode
    /// What this connection's statement names start with: random, so a pooler that hands this
    /// client another client's server connection can never run a statement of the same name that
    /// means something else there — the name is unknown there, and the server says so.
    private let statementPrefix = "todo_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))_"
    /// Statement text → the name it is prepared under on this connection, for the statements
    /// used most recently: bounded, since statement texts a client can vary (list shapes) would
    /// otherwise each hold server memory for the connection's life.
    private var prepared: BoundedCache<String, String>
    /// Evicted statements not yet deallocated on the server (done before the next pipeline).
    private var evicted: [String] = []
    /// The number in the next statement's name (names are never reused on a connection).
    private var statementNumber = 0

    /// Settings applied unless the connection string says otherwise: a bounded connect, and TCP
    /// keepalives plus a user timeout so a cut network fails a request in seconds rather than
    /// leaving it waiting for the kernel's two-hour default (nginx gives up after 30 s).
    public static let defaultSettings: [(String, String)] = [
        ("connect_timeout", "5"),
        ("keepalives_idle", "5"),
        ("keepalives_interval", "2"),
        ("keepalives_count", "3"),
        ("tcp_user_timeout", "10000"),
        ("application_name", "todo-fcgi"),
    ]

    /// Connects with `connectionString` (a libpq URI or key=value string; libpq's `PG*`
    /// variables and `~/.pgpass` fill in what it leaves out) over `defaultSettings`, keeping at
    /// most `preparedStatementLimit` statements prepared (the least recently used go first).
    public init(connectionString: String, preparedStatementLimit: Int = 256,
                statementMode: PostgresStatementMode = .named) throws(PostgresError) {
        prepared = BoundedCache(capacity: preparedStatementLimit)
        self.statementMode = statementMode
        // Later keywords win, so the caller's string (expanded in place of dbname) overrides the defaults.
        let settings = Self.defaultSettings + [("dbname", connectionString)]
        let keywords = settings.map { strdup($0.0) }
        let values = settings.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let connection = (keywords + [nil]).map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordPointers in
            (values + [nil]).map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }
        guard let connection else { throw PostgresError(message: "out of memory", connectionLost: true) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.oneLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(message: message, connectionLost: true)
        }
        todo_pq_silence_notices(connection)
        handle = connection
    }

    deinit {
        PQfinish(handle)
    }

    /// Whether the connection is still usable as far as libpq knows.
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Reads what the server sent while the connection was idle, without waiting: a server that
    /// restarted or closed the connection meanwhile has left its goodbye (or the socket's end)
    /// there, so a dead connection is found before a request is sent on it. False when dead.
    public func isAliveAfterIdle() -> Bool {
        // An idle connection has nothing to read unless the server spoke first: its goodbye
        // (an error message, then the end of the stream) is read here, a piece at a time.
        for _ in 0..<4 {
            guard isConnected else { return false }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) == 1 else { return true }
            guard PQconsumeInput(handle) == 1 else { return false }
        }
        return isConnected
    }

    /// Waits up to `timeoutMilliseconds` for the server to send something (a notification, or
    /// its goodbye), reads it, and returns the notifications received so far as (channel,
    /// payload); nil when the connection is dead. For a connection that only `LISTEN`s.
    public func awaitNotifications(timeoutMilliseconds: Int32) -> [(channel: String, payload: [UInt8])]? {
        guard isConnected else { return nil }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, timeoutMilliseconds) == 1 {
            guard PQconsumeInput(handle) == 1 else { return nil }
        }
        var received: [(channel: String, payload: [UInt8])] = []
        while let notification = PQnotifies(handle) {
            let channel = String(cString: notification.pointee.relname)
            let payload = Array(UnsafeBufferPointer(start: UnsafeRawPointer(notification.pointee.extra).assumingMemoryBound(to: UInt8.self),
                                                    count: strlen(notification.pointee.extra)))
            PQfreemem(notification)
            received.append((channel, payload))
        }
        return isConnected ? received : nil
    }

    /// Frees notifications libpq has received and nobody asked for.
    private func discardNotifications() {
        while let notification = PQnotifies(handle) { PQfreemem(notification) }
    }

    /// The server's version as a number, e.g. 150004 for 15.4.
    public var serverVersion: Int32 { PQserverVersion(handle) }

    /// Whether a transaction block is open (or failed and awaiting its ROLLBACK).
    public var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Ends an open transaction block without its changes, if there is one and the connection
    /// lives; a failure here leaves the connection closed.
    public func rollbackIfNeeded() {
        guard isConnected, inTransaction else { return }
        if (try? execute("ROLLBACK")) == nil, isConnected {
            reset()
        }
    }

    /// A run-time parameter the server reports, such as `TimeZone` or `server_version`.
    public func parameterStatus(_ name: String) -> String? {
        PQparameterStatus(handle, name).map { String(cString: $0) }
    }

    /// The server this connection reached, as `host:port` (of a multi-host URI's hosts, the one
    /// libpq chose): a connection made again that reaches another one crossed a failover.
    public var serverAddress: String {
        let host = PQhost(handle).map { String(cString: $0) } ?? "?"
        let port = PQport(handle).map { String(cString: $0) } ?? "?"
        return host + ":" + port
    }

    /// Runs one or more SQL commands that return no rows of interest (simple query protocol).
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try checked(PQexec(handle, sql))
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …) and returns its rows.
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        let result = withParameters(parameters) { parameters in
            PQexecParams(handle, sql, parameters.count, parameters.types, parameters.values, parameters.lengths, parameters.formats, 0)
        }
        return try checked(result)
    }

    /// One statement of a pipeline: its text and its parameters (each declared `text`).
    public struct Step {
        let sql: String
        public let parameters: [String?]

        /// `sql` with `parameters` for `$1`, `$2`, ….
        public init(_ sql: String, _ parameters: [String?] = []) {
            self.sql = sql
            self.parameters = parameters
        }
    }

    /// Runs `steps` as one implicit transaction in one round trip (libpq pipeline mode, one Sync):
    /// all commit together, or the first failure rolls all back and is thrown. Statements not yet
    /// prepared on this connection are prepared in the same round trip. Returns each step's result.
    ///
    /// When the server says a statement this connection prepared is not there (or a new name is
    /// taken), a pooler is passing the connection's transactions to several server connections:
    /// the connection turns to unnamed statements for good before throwing, so a caller may run
    /// the whole failed transaction again (nothing of it was committed).
    public func pipeline(_ steps: [Step]) throws(PostgresError) -> [PostgresResult] {
        // Behind a transaction-mode pooler, a server connection another client made LISTEN
        // delivers its notifications to whoever runs there next: dropped, never kept piling up.
        defer { discardNotifications() }
        do {
            return try sendPipeline(steps)
        } catch {
            if statementMode == .named, error.isPreparedStatementMissing {
                statementMode = .unnamed
                prepared.removeAll()
                // Statements prepared on server connections this one no longer reaches end with
                // those connections (a pooler recycles them): nothing to deallocate from here.
                evicted.removeAll()
            }
            throw error
        }
    }

    private func sendPipeline(_ steps: [Step]) throws(PostgresError) -> [PostgresResult] {
        guard isConnected else { throw PostgresError(message: "the connection is closed", connectionLost: true) }
        deallocateEvicted()
        guard PQenterPipelineMode(handle) == 1 else { throw lastError() }
        // What was sent, in order: a statement to prepare (its text), or a step to execute.
        enum Sent { case prepare(String, name: String), execute }
        var sent: [Sent] = []
        var failure: PostgresError?
        var preparing: [String: String] = [:]
        for step in steps where failure == nil {
            if statementMode == .unnamed {
                let accepted = withParameters(step.parameters) { parameters in
                    PQsendQueryParams(handle, step.sql, parameters.count, parameters.types, parameters.values, parameters.lengths,
                                      parameters.formats, 0)
                }
                guard accepted == 1 else {
                    failure = lastError()
                    break
                }
                sent.append(.execute)
                continue
            }
            var name = prepared.value(for: step.sql) ?? preparing[step.sql]
            if name == nil {
                statementNumber += 1
                let fresh = statementPrefix + String(statementNumber)
                let types = [Oid](repeating: Self.textType, count: step.parameters.count)
                guard PQsendPrepare(handle, fresh, step.sql, Int32(step.parameters.count), types) == 1 else {
                    failure = lastError()
                    break
                }
                preparing[step.sql] = fresh
                sent.append(.prepare(step.sql, name: fresh))
                name = fresh
            }
            let accepted = withParameters(step.parameters) { parameters in
                PQsendQueryPrepared(handle, name, parameters.count, parameters.values, parameters.lengths, parameters.formats, 0)
            }
            guard accepted == 1 else {
                failure = lastError()
                break
            }
            sent.append(.execute)
        }
        if failure == nil, PQpipelineSync(handle) != 1 { failure = lastError() }
        if let failure {
            // Nothing can be read back reliably from a half-sent pipeline: start afresh.
            reset()
            throw PostgresError(sqlState: failure.sqlState, message: failure.message, connectionLost: true)
        }

        var results: [PostgresResult] = []
        for item in sent {
            let outcome = try readOne()
            switch (item, outcome) {
            case (.prepare(let sql, let name), .ok):
                if let old = prepared.insert(name, for: sql) { evicted.append(old.value) }
            case (.execute, .ok(let result?)):
                results.append(result)
            case (_, .failed(let error)):
                failure = failure ?? error
            default:
                break
            }
        }
        // The Sync's own result closes the pipeline.
        guard let sync = PQgetResult(handle) else { throw lostConnection() }
        let syncStatus = PQresultStatus(sync)
        PQclear(sync)
        guard syncStatus == PGRES_PIPELINE_SYNC else { throw lostConnection() }
        PQexitPipelineMode(handle)
        if let failure { throw failure }
        return results
    }

    /// Deallocates the statements evicted from the cache, in one round trip before the next
    /// pipeline (evictions happen only when more statement texts are in use than the limit).
    /// Inside a transaction block it waits for the block's end, so a failure cannot abort it.
    private func deallocateEvicted() {
        guard !evicted.isEmpty, !inTransaction else { return }
        let sql = evicted.map { "DEALLOCATE \($0)" }.joined(separator: "; ")
        evicted.removeAll()
        if let result = PQexec(handle, sql) { PQclear(result) }
    }

    /// Reconnects (libpq's `PQreset`): the server forgets every prepared statement.
    private func reset() {
        PQreset(handle)
        prepared.removeAll()
        evicted.removeAll()
    }

    /// How many statements are prepared on this connection now (for tests and metrics).
    public var preparedStatementCount: Int { prepared.count }

    /// What one pipelined command came back as.
    private enum Outcome {
        case ok(PostgresResult?)
        case failed(PostgresError)
        case skipped
    }

    /// Reads one pipelined command's result and the NULL that ends it.
    private func readOne() throws(PostgresError) -> Outcome {
        guard let result = PQgetResult(handle) else { throw lostConnection() }
        let outcome: Outcome
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            outcome = .ok(PostgresResult(taking: result))
        case PGRES_PIPELINE_ABORTED:
            PQclear(result)
            outcome = .skipped
        default:
            let error = Self.error(from: result, connectionLost: !isConnected)
            PQclear(result)
            if error.connectionLost { throw error }
            outcome = .failed(error)
        }
        while let extra = PQgetResult(handle) { PQclear(extra) }
        return outcome
    }

    /// The result of a synchronous call, or its failure as an error.
    func checked(_ result: OpaquePointer?) throws(PostgresError) -> PostgresResult {
        guard let result else { throw lastError() }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(taking: result)
        default:
            let error = Self.error(from: result, connectionLost: !isConnected)
            PQclear(result)
            throw error
        }
    }

    private func lostConnection() -> PostgresError {
        let error = lastError()
        return PostgresError(sqlState: error.sqlState, message: error.message, connectionLost: true)
    }

    func lastError() -> PostgresError {
        PostgresError(message: Self.oneLine(PQerrorMessage(handle)), connectionLost: !isConnected)
    }

    /// The server's SQLSTATE and primary message only: its DETAIL and HINT can quote row values
    /// (`Key (title)=(…) already exists`), which must not reach logs.
    private static func error(from result: OpaquePointer, connectionLost: Bool) -> PostgresError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M")))
        return PostgresError(sqlState: sqlState, message: oneLine(primary ?? PQresultErrorMessage(result)), connectionLost: connectionLost)
    }

    /// libpq's messages end in newlines and may span lines; logs want one.
    private static func oneLine(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        let text = String(cString: message).split(whereSeparator: \.isNewline).map { $0.trimmingASCIISpaces }.joined(separator: " ")
        return text.isEmpty ? "unknown error" : text
    }

    /// The `text` type's OID: every parameter is declared `text` (a statement casts where it
    /// needs another type, `$1::bigint`), so every parameter can be sent in binary format.
    static let textType: Oid = 25

    /// Parameters as libpq takes them, valid for one call.
    struct Parameters {
        let count: Int32
        let types: UnsafePointer<Oid>?
        let values: UnsafePointer<UnsafePointer<CChar>?>?
        let lengths: UnsafePointer<Int32>?
        let formats: UnsafePointer<Int32>?
    }

    /// Calls `body` with `parameters` as binary `text` values with their lengths (NULL for nil):
    /// a value is sent whole, never cut at a NUL as a C string would be. The server checks the
    /// bytes as UTF-8 text, so a value it cannot hold (U+0000) fails the statement with SQLSTATE
    /// 22021 instead of being stored shortened.
    private func withParameters<R>(_ parameters: [String?], _ body: (Parameters) -> R) -> R {
        var lengths: [Int32] = []
        lengths.reserveCapacity(parameters.count)
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { parameter in
            guard var text = parameter else {
                lengths.append(0)
                return nil
            }
            return text.withUTF8 { utf8 in
                lengths.append(Int32(utf8.count))
                // One byte at least, so an empty string is a value, not NULL.
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(utf8.count, 1))
                if let base = utf8.baseAddress { UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: utf8.count) }
                return copy
            }
        }
        defer { copies.forEach { $0?.deallocate() } }
        let types = [Oid](repeating: Self.textType, count: parameters.count)
        let formats = [Int32](repeating: 1, count: parameters.count)
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { values in
            types.withUnsafeBufferPointer { types in
                lengths.withUnsafeBufferPointer { lengths in
                    formats.withUnsafeBufferPointer { formats in
                        body(Parameters(count: Int32(parameters.count), types: types.baseAddress, values: values.baseAddress,
                                        lengths: lengths.baseAddress, formats: formats.baseAddress))
                    }
                }
            }
        }
    }
}

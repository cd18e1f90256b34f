// In-process microbenchmark: one GET of a 20-task list through auth → router → store →
// SQLite → JSON, and each stage alone, so the cost of every stage is visible.
// No sockets. Run: swift run -c release todo-bench [iterations]
// `todo-bench plans DATABASE USER` prints the query plans of the API's own statements instead;
// `todo-bench pgbench-list USERS` a pgbench script of the PostgreSQL list's round trip.
import Clocks
import JWT
import Metrics
import PostgresStorage
import SQLite
import SQLiteStorage
import TaskModel
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif


/// Median of five rounds of `iterations` calls, in nanoseconds per call.
func measure(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = MonotonicClock.nanoseconds()
        for _ in 0..<iterations { try body() }
        rounds.append(Double(MonotonicClock.nanoseconds() - start) / Double(iterations))
    }
    return rounds.sorted()[2]
}

/// `todo-bench plans DATABASE USER`: SQLite's plan for each statement the API runs for a list
/// (the page and the count, for every filter and sort) and for one task, as `TaskStore` builds
/// them, for `USER`'s tasks in `DATABASE`.
func printQueryPlans(database: String, user: String) throws {
    let connection = try TaskDatabase.open(TaskDatabase.Options(path: database), migrate: false)
    func plan(_ sql: String, _ bind: (SQLiteStatement) throws -> Void) throws {
        let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        try bind(statement)
        var steps: [String] = []
        while try statement.step() { steps.append(statement.string(at: 3) ?? "?") }
        print(sql.split(separator: "\n").map { $0.trimmingPrefix(" ") }.joined(separator: " "))
        print("  -> " + steps.joined(separator: "; "))
    }
    var queries: [(TaskListQuery, String)] = []
    for status in [TaskListQuery.Status.all, .pending, .completed] {
        for sort in [TaskListQuery.Sort.created, .updated, .title] {
            var query = TaskListQuery()
            query.status = status
            query.sort = sort
            query.order = sort == .title ? .asc : .desc
            query.limit = 100
            query.offset = 200
            queries.append((query, "status=\(status)&sort=\(sort)&order=\(query.order)"))
        }
    }
    // Task model v2: the new sorts, search and filters, on the first page.
    for rawQuery in ["sort=due_date", "sort=priority&order=desc", "q=task", "q=filler%2042", "tag=work", "priority=high",
                     "has_due=true&sort=due_date", "due_before=2030-01-01T00:00:00Z&due_after=2020-01-01T00:00:00Z",
                     "status=pending&tag=work&q=task&sort=due_date"] {
        queries.append((try TaskListQuery(rawQuery: Array(rawQuery.utf8)), rawQuery))
    }
    for (query, name) in queries {
        print("-- GET /api/{user}/tasks?\(name)" + (query.offset > 0 ? "&limit=100&offset=200" : ""))
        let sql = SQLiteTaskStore.listSQL(query)
        let parameters = SQLiteTaskStore.listParameterValues(query)
        try plan(sql.page) { statement in
            try statement.bind(user, at: 1)
            try statement.bind(Int64(query.limit), at: 2)
            try statement.bind(query.offset, at: 3)
            try parameters(statement, 4)
        }
        try plan(sql.count) { statement in
            try statement.bind(user, at: 1)
            try parameters(statement, 2)
        }
    }
    print("-- GET /api/{user}/tasks/{id}")
    try plan(SQLiteTaskStore.findSQL) { statement in
        try statement.bind(Int64(1), at: 1)
        try statement.bind(user, at: 2)
    }
}

/// `todo-bench pgbench-list USERS`: a pgbench script of one GET list's round trip as the
/// PostgreSQL store sends it (its transaction's first statement, then the default list of 20,
/// in one pipeline), for a user of `user0000` … at random, as bench/run.py names them.
func printPgbenchListScript(users: Int) {
    let user = "('user' || lpad(:u::text, 4, '0'))"
    let list = PostgresTaskStore.listSQL(TaskListQuery()).statement
        .replacing("$1", with: user).replacing("$2::bigint", with: "20")
        .replacing("$3::bigint", with: "0")
    let opening = PostgresTaskStore.transactionOpening.replacing("$1", with: user)
    print("\\set u random(0, \(users - 1))\n\\startpipeline\n\(oneLine(opening));\n\(oneLine(list));\n\\endpipeline")
}

/// `sql` on one line (pgbench reads a statement up to the `;` that ends a line).
func oneLine(_ sql: String) -> String {
    sql.split(separator: "\n").map { $0.trimmingPrefix(" ") }.joined(separator: " ")
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "pgbench-list", let users = Int(CommandLine.arguments[2]) {
    printPgbenchListScript(users: users)
    exit(0)
}

if CommandLine.arguments.count == 4, CommandLine.arguments[1] == "plans" {
    try printQueryPlans(database: CommandLine.arguments[2], user: CommandLine.arguments[3])
    exit(0)
}

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000
let secret = Array("microbenchmark-secret-0123456789abcdef".utf8)
let path = "/tmp/todo-bench-\(getpid()).db"
defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }

let configuration = try JWTConfiguration(secret: secret)
let connection = try TaskDatabase.open(TaskDatabase.Options(path: path))
let store = SQLiteTaskStore(connection: connection)
let application = TodoApplication(authenticator: try Authenticator(configuration: configuration), store: store,
                                  log: { print($0) })
let token = try JWTSigner(secret: secret).sign(subject: "bench-user", issuedAt: Int64(WallClock.seconds()), lifetime: 86_400)
let authorization = "Bearer " + token
for index in 0..<20 {
    let body = Array(#"{"title":"task \#(index) of the benchmark","description":"seeded for the microbenchmark"}"#.utf8)
    let response = application.respond(to: HTTPRequest(method: "POST", target: "/api/bench-user/tasks",
                                                       authorization: authorization, contentType: "application/json", body: body)).response
    precondition(response.status == 201, "seeding failed: \(response.status)")
}

let listRequest = HTTPRequest(method: "GET", target: "/api/bench-user/tasks", authorization: authorization)
let verifier = try JWTVerifier(configuration: configuration)
let uncached = try Authenticator(configuration: configuration, cacheCapacity: 0)
let cached = try Authenticator(configuration: configuration)
let tokenBytes = Array(token.utf8)
let authorizationBytes = Array(authorization.utf8)
let now = WallClock.seconds()
var sink = 0

let full = measure(iterations) { sink &+= application.respond(to: listRequest).response.body.count }
let jwt = try measure(iterations) { sink &+= try verifier.verify(tokenBytes, nowSeconds: now).subject.utf8.count }
let authUncached = try measure(iterations) { sink &+= try uncached.authenticate(authorization: authorizationBytes).id.utf8.count }
let authCached = try measure(iterations) { sink &+= try cached.authenticate(authorization: authorizationBytes).id.utf8.count }
let routing = try measure(iterations) {
    if case .tasks(let user)? = Router.route(listRequest.path) { sink &+= user.count }
    sink &+= try TaskListQuery(rawQuery: listRequest.query).limit
}
let query = try measure(iterations) {
    sink &+= Int(try store.list(userID: "bench-user", query: TaskListQuery()) { row in sink &+= Int(row.id) })
}
let encoding = max(full - authCached - routing - query, 0)
let metricsPath = "/tmp/todo-bench-\(getpid()).metrics"
defer { unlink(metricsPath) }
let metricsSlot = try MetricsFile(path: metricsPath).claimThreadSlot()
let recording = measure(iterations) {
    metricsSlot.recordRequest(route: "/api/{user_id}/tasks", method: "GET", status: 200, seconds: 0.0004)
}

func row(_ name: String, _ value: Double) -> String {
    let share = value / full * 100
    return "| \(name) | \(Int(value.rounded())) | \(Int(share.rounded()))% |"
}
print("In-process GET /api/{user}/tasks with 20 tasks, median of 5 rounds × \(iterations) (sink \(sink % 10))\n")
print("| stage | ns per request | share of the full request |")
print("|---|---|---|")
print(row("full request (cached token): respond()", full))
print(row("authentication, cached token", authCached))
print(row("routing + query parsing", routing))
print(row("SQLite: page + snapshot (rows not encoded)", query))
print(row("JSON encoding + glue (the remainder)", encoding))
print(row("authentication, uncached (HS256 verify + parse)", authUncached))
print(row("  of which JWTVerifier.verify", jwt))
print(row("recording the request's metrics (worker, after the response)", recording))

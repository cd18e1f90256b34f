import TaskModel
import Testing

/// Addendum v2.2 on every backend: each task's UID and resource name (made by a create, kept by
/// every write, unique per owner), the iCalendar text CalDAV clients leave, lookups by either
/// key, deletions named for `sync-collection`, and all of it through `copy` and the migration.
@Suite("Task store conformance: CalDAV identity")
struct CalendarIdentityConformanceTests {
    static let now: Int64 = 1_795_000_000_000
    static let kept = "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nX-KEPT:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"

    func calendarState(_ title: String, uid: String, name: String) -> TaskState {
        var state = TaskState(title: title)
        state.uid = uid
        state.resourceName = name
        state.calendarData = Self.kept
        return state
    }

    @Test(arguments: BackendKind.available)
    func aCreateKeepsTheClientsIdentityAndEitherKeyFindsItForItsOwnerOnly(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let created = try store.create(userID: "alice", state: calendarState("from a client", uid: "ABC-123@phone", name: "x y%.ics"),
                                       now: Self.now)
        #expect(created.state.uid == "ABC-123@phone" && created.state.resourceName == "x y%.ics" && created.state.calendarData == Self.kept)
        #expect(try store.find(userID: "alice", key: .uid("ABC-123@phone")) { $0.id } == created.id)
        #expect(try store.find(userID: "alice", key: .resourceName("x y%.ics")) { $0.id } == created.id)
        #expect(try store.find(userID: "alice", key: .uid("abc-123@phone")) { $0.id } == nil)
        #expect(try store.find(userID: "bob", key: .uid("ABC-123@phone")) { $0.id } == nil)
        #expect(try store.find(userID: "bob", key: .resourceName("x y%.ics")) { $0.id } == nil)
        // A task made without one gets a UUID and `{uid}.ics`, both findable.
        let plain = try store.create(userID: "alice", state: TaskState(title: "from the API"), now: Self.now)
        let uid = plain.state.uid
        #expect(plain.state.resourceName == uid + ".ics" && plain.state.calendarData == nil)
        #expect(try store.find(userID: "alice", key: .resourceName(uid + ".ics")) { $0.id } == plain.id)
    }

    @Test(arguments: BackendKind.available)
    func aUIDOrNameTakenByAnotherTaskOfTheOwnerIsAConflictAndNothingIsWritten(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        _ = try store.create(userID: "alice", state: calendarState("first", uid: "same", name: "a.ics"), now: Self.now)
        for state in [calendarState("second", uid: "same", name: "b.ics"), calendarState("third", uid: "other", name: "a.ics")] {
            do {
                _ = try store.create(userID: "alice", state: state, now: Self.now)
                Issue.record("\(kind): a taken identity was stored")
            } catch {
                #expect(error.kind == .conflict, "\(kind): \(error)")
            }
        }
        var query = TaskListQuery()
        query.limit = 100
        #expect(try store.list(userID: "alice", query: query) { _ in } == 1)
        // Another owner may use the same UID and name.
        _ = try store.create(userID: "bob", state: calendarState("bob's", uid: "same", name: "a.ics"), now: Self.now)
    }

    @Test(arguments: BackendKind.available)
    func jsonWritesKeepTheIdentityAndTheKeptTextAndCalendarWritesReplaceTheRest(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let created = try store.create(userID: "alice", state: calendarState("t", uid: "u1", name: "n1.ics"), now: Self.now)
        var changes = TaskChanges()
        changes.title = "renamed"
        guard case .updated(let merged) = try store.update(userID: "alice", id: created.id, update: TaskUpdate(.merge(changes)),
                                                           now: Self.now + 1) else { Issue.record("no merge"); return }
        #expect(merged.state.uid == "u1" && merged.state.resourceName == "n1.ics" && merged.state.calendarData == Self.kept)
        guard case .updated(let completed) = try store.update(userID: "alice", id: created.id, update: TaskUpdate(.complete(true)),
                                                              now: Self.now + 2) else { Issue.record("no completion"); return }
        #expect(completed.state.calendarData == Self.kept && completed.completedAt == Self.now + 2)
        // A calendar write replaces every field and the kept text; the UID and name stay whatever it says.
        var fromClient = TaskState(title: "from the client")
        fromClient.uid = "ignored"
        fromClient.resourceName = "ignored.ics"
        fromClient.completed = true
        fromClient.reportedCompletedAt = Self.now - 5000
        fromClient.calendarData = nil
        guard case .updated(let replaced) = try store.update(userID: "alice", id: created.id, update: TaskUpdate(.calendar(fromClient)),
                                                             now: Self.now + 3) else { Issue.record("no calendar write"); return }
        #expect(replaced.state.title == "from the client" && replaced.state.calendarData == nil)
        #expect(replaced.state.uid == "u1" && replaced.state.resourceName == "n1.ics")
        #expect(replaced.completedAt == Self.now - 5000 && replaced.version == created.version + 3)
    }

    @Test(arguments: BackendKind.available)
    func aCreateOfACompletedTaskTakesTheReportedCompletionTime(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        var state = calendarState("done elsewhere", uid: "d", name: "d.ics")
        state.completed = true
        state.reportedCompletedAt = Self.now - 60_000
        #expect(try store.create(userID: "alice", state: state, now: Self.now).completedAt == Self.now - 60_000)
    }

    @Test(arguments: BackendKind.available)
    func theNextOccurrenceGetsItsOwnIdentityAndCarriesTheKeptText(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        var state = calendarState("weekly", uid: "series", name: "series.ics")
        state.dueDate = .instant(Self.now)
        state.recurrence = TaskRecurrence(frequency: .weekly)
        let created = try store.create(userID: "alice", state: state, now: Self.now)
        guard case .updated(let completed) = try store.update(userID: "alice", id: created.id, update: TaskUpdate(.complete(true)),
                                                              now: Self.now + 1),
              let nextID = completed.nextTaskID else { Issue.record("no next occurrence"); return }
        let next = try #require(try store.find(userID: "alice", id: nextID) { StoredTask($0) })
        #expect(next.state.uid != "series" && next.state.uid.utf8.count == 36 && next.state.resourceName == next.state.uid + ".ics")
        #expect(next.state.calendarData == Self.kept)
    }

    @Test(arguments: BackendKind.available)
    func aDeletionIsReportedWithItsResourceName(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let created = try store.create(userID: "alice", state: calendarState("t", uid: "u", name: "gone.ics"), now: Self.now)
        let first = try store.syncPage(userID: "alice", since: nil, limit: 100)
        #expect(try store.delete(userID: "alice", id: created.id, deletion: TaskDeletion(), now: Self.now + 1) == .deleted)
        let page = try store.syncPage(userID: "alice", since: first.cursor, limit: 100)
        #expect(page.deleted == [DeletedTask(id: created.id, resourceName: "gone.ics")])
        // The name is free again.
        _ = try store.create(userID: "alice", state: calendarState("again", uid: "u", name: "gone.ics"), now: Self.now + 2)
    }

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func aCopyCarriesTheIdentityAndTheKeptText(_ kind: BackendKind) throws {
        let source = try FreshDatabase(kind)
        let created = try source.store().create(userID: "alice", state: calendarState("t", uid: "u@x", name: "n.ics"), now: Self.now)
        let destination = try FreshDatabase(kind, migrated: false)
        _ = try TaskCopy.run(from: source.backend, to: destination.backend)
        let copied = try #require(try destination.store().find(userID: "alice", key: .resourceName("n.ics")) { StoredTask($0) })
        #expect(copied.id == created.id && copied.state.uid == "u@x" && copied.state.calendarData == Self.kept)
    }

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func rowsWrittenAroundTheServiceGetAnIdentityOfTheirOwn(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let scope = kind == .postgresql ? "SELECT set_config('todo.user_id', 'alice', false); " : ""
        let insert = "INSERT INTO tasks (user_id, title, title_key, completed, created_at, updated_at) VALUES ('alice', 'raw', 'raw', false, 1, 1);"
        try database.execute(scope + insert + insert)
        var identities: [(String, String)] = []
        _ = try database.store().list(userID: "alice", query: TaskListQuery()) { identities.append(($0.state.uid, $0.state.resourceName)) }
        #expect(identities.count == 2 && identities[0].0 != identities[1].0, "\(kind): \(identities)")
        #expect(identities.allSatisfy { !$0.0.isEmpty && $0.1 == $0.0 + ".ics" }, "\(kind): \(identities)")
    }

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func migratingGivesEveryExistingTaskItsOwnUIDAndName(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        for number in 0..<6 { _ = try store.create(userID: number < 3 ? "alice" : "bob", state: TaskState(title: "t\(number)"), now: Self.now) }
        try database.execute(CalendarSchemaUndo.sql(kind) + (kind == .sqlite ? "PRAGMA user_version = 5" : "UPDATE todo_schema SET version = 7"))
        var applied: [(Int, Int)] = []
        try database.backendOfAnotherProcess().migrate { applied.append(($0, $1)) }
        #expect(applied.map(\.0) == [0, 1] && applied.allSatisfy { $0.1 == 1 })
        let migrated = try database.backendOfAnotherProcess().makeStore()
        var identities: [(String, String)] = []
        for user in ["alice", "bob"] {
            let page = try migrated.syncPage(userID: user, since: nil, limit: 100)
            identities += page.tasks.map { ($0.state.uid, $0.state.resourceName) }
        }
        #expect(identities.count == 6 && Set(identities.map(\.0)).count == 6)
        #expect(identities.allSatisfy { !$0.0.isEmpty && $0.1 == $0.0 + ".ics" })
        // New tasks and deletions work on the migrated schema.
        let fresh = try migrated.create(userID: "alice", state: TaskState(title: "after"), now: Self.now + 1)
        #expect(try migrated.find(userID: "alice", key: .uid(fresh.state.uid)) { $0.id } == fresh.id)
    }
}

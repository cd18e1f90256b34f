import Locks
import TaskModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One contract, every backend: each test runs on memory, SQLite and (with a server) PostgreSQL,
/// through `TaskStore` and `TaskBackend` only. The cases are the rules the application relies
/// on, and the places where backends have drifted before.
@Suite("Task store conformance")
struct TaskStoreConformanceTests {
    static let now: Int64 = 1_795_000_000_000
    static let render: TaskRenderer = { row in Array("{\"id\":\(row.id),\"version\":\(row.version)}".utf8) }

    func state(_ title: String, _ configure: (inout TaskState) -> Void = { _ in }) -> TaskState {
        var state = TaskState(title: title)
        configure(&state)
        return state
    }

    func ids(_ store: any TaskStore, _ user: String, _ configure: (inout TaskListQuery) -> Void = { _ in }) throws -> [Int64] {
        var query = TaskListQuery()
        query.limit = TaskListQuery.maximumLimit
        configure(&query)
        var found: [Int64] = []
        _ = try store.list(userID: user, query: query) { found.append($0.id) }
        return found
    }

    /// The column table is the schema: every backend's `tasks` has exactly its columns, each of
    /// its kind (SQLite keeps booleans as integers), so binds, imports and readers written from
    /// the table cannot miss one.
    /// `migrate` reports each schema version it applies, and nothing when the schema is current.
    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func migrateReportsEachSchemaVersionItApplies(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind, migrated: false)
        var reports: [String] = []
        let version = try database.backend.migrate { applied, pending in reports.append("\(applied)/\(pending)") }
        #expect(reports == (0...Int(version)).map { "\($0)/\(version)" })
        reports.removeAll()
        try database.backend.migrate { applied, pending in reports.append("\(applied)/\(pending)") }
        #expect(reports.isEmpty)
    }

    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func theSchemaHasExactlyTheColumnTable(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let columns = try schemaColumns(of: database)
        #expect(Set(columns.map(\.name)) == Set(TaskColumn.allCases.map(\.name)) && columns.count == TaskColumn.allCases.count,
                "\(kind): \(columns.map(\.name))")
        for (name, schemaKind) in columns {
            guard let column = TaskColumn.allCases.first(where: { $0.name == name }) else { continue }
            let expected = kind == .sqlite && column.kind == .boolean ? .integer : column.kind
            #expect(schemaKind == expected, "\(kind): \(name) is \(schemaKind), the table says \(column.kind)")
        }
    }

    @Test(arguments: BackendKind.available)
    func aCreatedTaskReadsBackAsWrittenAndOnlyByItsOwner(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let written = state("Écrire ✍️ 𝄞") {
            $0.description = "line one\nline \"two\"\t\u{1}\u{7F}\u{85}"
            $0.priority = .high
            $0.tags = ["Work", "ünï"]
            $0.dueDate = .day(startingAt: 1_803_859_200_000)
            $0.recurrence = TaskRecurrence(frequency: .monthly, interval: 2)
        }
        let created = try store.create(userID: "alice", state: written, now: Self.now)
        #expect(created.version == 1 && created.createdAt == Self.now && created.updatedAt == Self.now && created.completedAt == nil)
        let found = try #require(try store.find(userID: "alice", id: created.id) { StoredTask($0) })
        #expect(found == created)
        // The state as written, with the identity every create makes: a random UUID and `{uid}.ics`.
        var identified = written
        identified.uid = found.state.uid
        identified.resourceName = identified.uid + ".ics"
        #expect(found.state == identified)
        #expect(identified.uid.utf8.count == 36 && identified.uid == identified.uid.lowercased())
        #expect(try store.find(userID: "bob", id: created.id) { $0.id } == nil)
        #expect(try ids(store, "bob").isEmpty)
        #expect(try ids(store, "alice") == [created.id])
    }

    @Test(arguments: BackendKind.available)
    func longUnicodeAndControlCharactersRoundTripByteForByte(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let title = String(repeating: "𝔘ñí", count: 66) + "e\u{301}"
        let description = String(repeating: "日本語 \u{2028}\u{9F}\u{1B}", count: 140)
        let created = try store.create(userID: "ü-\u{1F600}", state: state(title) { $0.description = description }, now: Self.now)
        let found = try #require(try store.find(userID: "ü-\u{1F600}", id: created.id) { StoredTask($0) })
        #expect(found.title == Array(title.utf8) && found.description == Array(description.utf8))
    }

    /// Contract §11: a backend that cannot hold U+0000 refuses it; none shortens it.
    @Test(arguments: BackendKind.available)
    func textWithNULIsKeptWholeOrRefusedNeverShortened(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let text = "before\u{0}after"
        do {
            let created = try store.create(userID: "alice", state: state(text) { $0.description = text }, now: Self.now)
            #expect(database.backend.storesNUL, "\(kind) took a value it says it cannot store")
            let found = try #require(try store.find(userID: "alice", id: created.id) { StoredTask($0) })
            #expect(found.title == Array(text.utf8) && found.description == Array(text.utf8))
            #expect(try database.backend.tasksHoldingNUL() == [created.id])
        } catch let error as StorageError {
            #expect(!database.backend.storesNUL, "\(kind) refused a value it says it stores: \(error)")
            #expect(try ids(store, "alice").isEmpty)
        }
    }

    @Test(arguments: BackendKind.available)
    func writesHonourIfMatchAndVersions(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let task = try store.create(userID: "alice", state: state("t"), now: Self.now)
        var rename = TaskChanges()
        rename.title = "renamed"
        guard case .refused(.preconditionFailed) = try store.update(userID: "alice", id: task.id,
                                                                    update: TaskUpdate(.replace(rename), ifMatch: "\"2\""), now: Self.now + 1) else {
            Issue.record("a stale If-Match was not refused")
            return
        }
        guard case .updated(let renamed) = try store.update(userID: "alice", id: task.id,
                                                             update: TaskUpdate(.replace(rename), ifMatch: "\"1\""), now: Self.now + 1) else {
            Issue.record("a current If-Match was refused")
            return
        }
        #expect(renamed.version == 2 && renamed.updatedAt == Self.now + 1 && renamed.createdAt == Self.now)
        // A merge that changes nothing keeps the version; the clock behind still moves updated_at on.
        guard case .unchanged(let same) = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.merge(rename)), now: Self.now + 2) else {
            Issue.record("a merge changing nothing wrote")
            return
        }
        #expect(same.version == 2)
        guard case .updated(let later) = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.complete(true)), now: 5) else {
            Issue.record("complete was refused")
            return
        }
        #expect(later.updatedAt == Self.now + 2 && later.completedAt == Self.now + 2 && later.version == 3)
        guard case .notFound = try store.update(userID: "bob", id: task.id, update: TaskUpdate(.complete(nil)), now: Self.now) else {
            Issue.record("another user's task was updated")
            return
        }
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(ifMatch: "\"1\", \"2\""), now: Self.now) == .preconditionFailed)
        #expect(try store.delete(userID: "bob", id: task.id, deletion: TaskDeletion(), now: Self.now) == .notFound)
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(ifMatch: "W/\"3\""), now: Self.now) == .preconditionFailed)
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(ifMatch: "\"3\""), now: Self.now) == .deleted)
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(ifMatch: "*"), now: Self.now) == .notFound)
    }

    @Test(arguments: BackendKind.available)
    func completingARecurringTaskSpawnsItsNextOccurrenceOnce(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let task = try store.create(userID: "alice", state: state("rent") {
            $0.dueDate = .day(startingAt: 1_832_889_600_000)  // 2028-01-31
            $0.recurrence = TaskRecurrence(frequency: .monthly)
        }, now: Self.now)
        guard case .updated(let done) = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.complete(true)), now: Self.now + 1),
              let nextID = done.nextTaskID else {
            Issue.record("no next occurrence")
            return
        }
        let next = try #require(try store.find(userID: "alice", id: nextID) { StoredTask($0) })
        #expect(next.dueDate == .day(startingAt: 1_835_395_200_000) && !next.completed && next.version == 1)  // 2028-02-29
        #expect(next.createdAt == Self.now + 1 && next.recurrence == task.recurrence)
        // Un-completing and completing again creates nothing more.
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.complete(false)), now: Self.now + 2)
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.complete(true)), now: Self.now + 3)
        #expect(try ids(store, "alice").count == 2)
    }

    @Test(arguments: BackendKind.available)
    func anIdempotentReplayIsTheOriginalBodyByteForByte(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let key = IdempotencyKey(key: "k-1", fingerprint: "body-a")
        guard case .created(let task) = try store.create(userID: "alice", state: state("a"), now: Self.now, idempotency: key, render: Self.render) else {
            Issue.record("no create")
            return
        }
        guard case .replayed(let id, let body) = try store.create(userID: "alice", state: state("a"), now: Self.now + 1, idempotency: key,
                                                                  render: Self.render) else {
            Issue.record("no replay")
            return
        }
        // The body rendered from the row the store inserted, not from a guess of it.
        #expect(id == task.id && body == Self.render(task.row))
        guard case .keyReused = try store.create(userID: "alice", state: state("b"), now: Self.now + 1,
                                                 idempotency: IdempotencyKey(key: "k-1", fingerprint: "body-b"), render: Self.render) else {
            Issue.record("a key reused with another body was not refused")
            return
        }
        // Keys are per user; an expired key is no key.
        guard case .created = try store.create(userID: "bob", state: state("a"), now: Self.now, idempotency: key, render: Self.render),
              case .created(let fresh) = try store.create(userID: "alice", state: state("b"), now: Self.now + IdempotencyKey.retentionMilliseconds + 1,
                                                          idempotency: IdempotencyKey(key: "k-1", fingerprint: "body-b"), render: Self.render) else {
            Issue.record("a key of another user, or an expired one, still counted")
            return
        }
        #expect(fresh.id != task.id)
        #expect(try ids(store, "alice").count == 2)
    }

    @Test(arguments: BackendKind.available)
    func listsFilterSortAndPageAlike(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let day: Int64 = 1_803_859_200_000  // 2027-03-01
        func make(_ title: String, _ configure: (inout TaskState) -> Void = { _ in }) throws -> Int64 {
            try store.create(userID: "alice", state: state(title, configure), now: Self.now).id
        }
        let timed = try make("Zebra") { $0.dueDate = .instant(day); $0.tags = ["Home"]; $0.priority = .low }
        let allDay = try make("apple") { $0.dueDate = .day(startingAt: day); $0.tags = ["home", "work"] }
        let early = try make("Äpfel") { $0.dueDate = .instant(day - 1); $0.description = "Fresh Fruit"; $0.priority = .high }
        let none = try make("éclair") { $0.completed = true }
        let edge = try make("zz") { $0.dueDate = .instant(Timestamp.latest) }
        let epoch = try make("İstanbul") { $0.dueDate = .instant(Timestamp.earliest); $0.priority = .high }
        _ = try store.create(userID: "bob", state: state("apple"), now: Self.now)
        #expect(try ids(store, "alice") { $0.sort = .dueDate } == [epoch, early, allDay, timed, edge, none])
        #expect(try ids(store, "alice") { $0.sort = .dueDate; $0.order = .desc } == [edge, allDay, timed, early, epoch, none])
        // Titles in byte order of their lower-cased UTF-8 ("C" / BINARY): a, z, then é, ä, i̇.
        #expect(try ids(store, "alice") { $0.sort = .title } == [allDay, timed, edge, early, none, epoch].sorted {
            Array(titleKey(of: $0, in: store).utf8).lexicographicallyPrecedes(Array(titleKey(of: $1, in: store).utf8))
        })
        #expect(try ids(store, "alice") { $0.sort = .priority; $0.order = .desc } == [early, epoch, allDay, none, edge, timed].sorted {
            (priority(of: $0, in: store), $0) > (priority(of: $1, in: store), $1)
        })
        #expect(try Set(ids(store, "alice") { $0.tags = ["home"] }) == [timed, allDay])
        #expect(try ids(store, "alice") { $0.tags = ["home", "work"] } == [allDay])
        #expect(try ids(store, "alice") { $0.searchTerms = ["fruit", "äpf"] } == [early])
        #expect(try ids(store, "alice") { $0.status = .completed } == [none])
        #expect(try Set(ids(store, "alice") { $0.hasDue = false }) == [none])
        #expect(try ids(store, "alice") { $0.priorities = [.high]; $0.sort = .dueDate } == [epoch, early])
        #expect(try ids(store, "alice") { $0.dueAfter = day; $0.dueBefore = day + 1; $0.sort = .dueDate } == [allDay, timed])
        var query = TaskListQuery()
        (query.sort, query.limit, query.offset) = (.dueDate, 2, 1)
        var page: [Int64] = []
        #expect(try store.list(userID: "alice", query: query) { page.append($0.id) } == 6)
        #expect(page == [early, allDay])
        query.offset = 100
        #expect(try store.list(userID: "alice", query: query) { _ in Issue.record("a row past the end") } == 6)
    }

    /// The total is exact at every edge of a page: a page that ends the list, one that ends just
    /// before its end, one exactly at it, and pages past it (backends that count only when a page
    /// is full, or read one row ahead, must agree with a plain count).
    @Test(arguments: BackendKind.available)
    func aListsTotalIsExactAtEveryPageEdge(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        for index in 0..<5 { _ = try store.create(userID: "alice", state: state("t\(index)"), now: Self.now) }
        _ = try store.create(userID: "bob", state: state("other"), now: Self.now)
        for (limit, offset, rows) in [(4, 0, 4), (5, 0, 5), (6, 0, 5), (2, 3, 2), (3, 3, 2), (1, 4, 1), (1, 5, 0), (3, 9, 0)] {
            var query = TaskListQuery()
            (query.limit, query.offset) = (limit, Int64(offset))
            var page = 0
            #expect(try store.list(userID: "alice", query: query) { _ in page += 1 } == 5, "\(kind): limit \(limit) offset \(offset)")
            #expect(page == rows, "\(kind): limit \(limit) offset \(offset)")
        }
        var empty = TaskListQuery()
        empty.offset = 2
        #expect(try store.list(userID: "nobody", query: empty) { _ in Issue.record("a row of nobody's") } == 0)
    }

    private func titleKey(of id: Int64, in store: any TaskStore) -> String {
        ((try? store.find(userID: "alice", id: id) { StoredTask($0) }) ?? nil)?.state.title.lowercased() ?? ""
    }

    private func priority(of id: Int64, in store: any TaskStore) -> Int64 {
        ((try? store.find(userID: "alice", id: id) { $0.priority.rawValue }) ?? nil) ?? -1
    }

    @Test(arguments: BackendKind.available)
    func syncListsEveryChangeOnceAndPurgedTombstonesExpireOldCursors(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        var created: [Int64] = []
        for index in 0..<5 { created.append(try store.create(userID: "alice", state: state("t\(index)"), now: Self.now).id) }
        let first = try store.syncPage(userID: "alice", since: nil, limit: 1000)
        #expect(first.tasks.map(\.id) == created && first.deleted.isEmpty && !first.hasMore && first.refusal == nil)
        #expect(try store.delete(userID: "alice", id: created[0], deletion: TaskDeletion(), now: Self.now) == .deleted)
        _ = try store.update(userID: "alice", id: created[1], update: TaskUpdate(.complete(true)), now: Self.now + 1)
        let second = try store.syncPage(userID: "alice", since: first.cursor, limit: 1000)
        #expect(second.deleted.map(\.id) == [created[0]] && second.tasks.map(\.id) == [created[1]])
        // Paged by one: every change once, in order.
        var position: SyncPosition? = first.cursor
        var seen: [String] = []
        for _ in 0..<10 {
            let page = try store.syncPage(userID: "alice", since: position, limit: 1)
            seen += page.deleted.map { "-\($0.id)" } + page.tasks.map { "+\($0.id)" }
            position = page.cursor
            if !page.hasMore { break }
        }
        #expect(seen == ["-\(created[0])", "+\(created[1])"])
        // A cursor never issued (ahead of the user's changes) is refused as unknown.
        #expect(try store.syncPage(userID: "alice", since: SyncPosition(change: 999, floor: 0), limit: 10).refusal == .unknown)
        // 31 days on, another deletion purges the first tombstone: a cursor before it has expired.
        let later = Self.now + SyncPage.tombstoneRetentionMilliseconds + 86_400_000
        #expect(try store.delete(userID: "alice", id: created[2], deletion: TaskDeletion(), now: later) == .deleted)
        #expect(try store.syncPage(userID: "alice", since: first.cursor, limit: 10).refusal == .expired)
        #expect(try store.syncPage(userID: "alice", since: second.cursor, limit: 10).deleted.map(\.id) == [created[2]])
        // Another user's changes never appear.
        #expect(try store.syncPage(userID: "bob", since: nil, limit: 10).tasks.isEmpty)
    }

    @Test(arguments: BackendKind.available)
    func aCopyKeepsEveryFieldAndItsSyncPagesToTheEnd(_ kind: BackendKind) throws {
        let source = try FreshDatabase(kind)
        let store = try source.store()
        var expected: [StoredTask] = []
        for index in 0..<7 {
            expected.append(try store.create(userID: index % 2 == 0 ? "alice" : "bob", state: state("t\(index)") {
                $0.dueDate = index % 3 == 0 ? .day(startingAt: 1_803_859_200_000) : .instant(1_803_859_200_123)
                $0.tags = ["tag\(index)"]
            }, now: Self.now + Int64(index)))
        }
        #expect(try store.delete(userID: "bob", id: expected[5].id, deletion: TaskDeletion(), now: Self.now) == .deleted)
        let kept = expected.filter { $0.id != expected[5].id }
        // Into each kind of destination.
        for destinationKind in BackendKind.available {
            let destination = try FreshDatabase(destinationKind)
            let (count, highest) = try TaskCopy.run(from: source.backend, to: destination.backend)
            #expect(count == kept.count && highest >= expected.map(\.id).max() ?? 0, "\(kind) → \(destinationKind)")
            let copied = try destination.store()
            for task in kept {
                #expect(try copied.find(userID: String(decoding: task.userID, as: UTF8.self), id: task.id) { StoredTask($0) } == task,
                        "\(kind) → \(destinationKind): task \(task.id)")
            }
            // Ids go on after the highest ever issued; a first sync pages through to its end.
            let fresh = try copied.create(userID: "alice", state: state("after"), now: Self.now + 100)
            #expect(fresh.id > highest)
            var position: SyncPosition?
            var synced: [Int64] = []
            for _ in 0..<20 {
                let page = try copied.syncPage(userID: "alice", since: position, limit: 2)
                #expect(page.refusal == nil)
                synced += page.tasks.map(\.id)
                position = page.cursor
                if !page.hasMore { break }
            }
            #expect(synced == kept.filter { $0.userID == Array("alice".utf8) }.map(\.id) + [fresh.id], "\(kind) → \(destinationKind)")
            #expect(try copied.syncCursorKey() == store.syncCursorKey())
        }
    }

    /// Hardening round 3, item 2: every cursor the source issued is 410 on the copy, also for a
    /// user with sync history and no task left (before, such a user's counter restarted at 1:
    /// the old cursor was 400 at once and, after a few changes on the copy, 200 with changes
    /// skipped for good).
    @Test(arguments: BackendKind.available)
    func everySourceCursorIsExpiredOnTheCopyWhateverItsUserStillOwns(_ kind: BackendKind) throws {
        let source = try FreshDatabase(kind)
        let store = try source.store()
        var emptied: [StoredTask] = []
        for index in 0..<7 { emptied.append(try store.create(userID: "emptied", state: state("e\(index)"), now: Self.now)) }
        _ = try store.create(userID: "keeper", state: state("kept"), now: Self.now)
        let keeperCursor = try store.syncPage(userID: "keeper", since: nil, limit: 10).cursor
        for task in emptied {
            #expect(try store.delete(userID: "emptied", id: task.id, deletion: TaskDeletion(), now: Self.now) == .deleted)
        }
        let emptiedCursor = try store.syncPage(userID: "emptied", since: nil, limit: 10).cursor
        #expect(emptiedCursor.change >= 14)
        for destinationKind in BackendKind.available {
            let destination = try FreshDatabase(destinationKind)
            _ = try TaskCopy.run(from: source.backend, to: destination.backend)
            let copied = try destination.store()
            #expect(try copied.syncPage(userID: "emptied", since: emptiedCursor, limit: 10).refusal == .expired, "\(kind) → \(destinationKind)")
            #expect(try copied.syncPage(userID: "keeper", since: keeperCursor, limit: 10).refusal == .expired, "\(kind) → \(destinationKind)")
            for index in 0..<7 { _ = try copied.create(userID: "emptied", state: state("new \(index)"), now: Self.now + 1) }
            #expect(try copied.syncPage(userID: "emptied", since: emptiedCursor, limit: 10).refusal == .expired, "\(kind) → \(destinationKind)")
            // A fresh sync on the copy sees all seven.
            #expect(try copied.syncPage(userID: "emptied", since: nil, limit: 10).tasks.count == 7)
        }
    }

    /// Hardening round 3, item 7: a destination with no tasks but with history is refused before
    /// anything is copied, naming what it holds (before, every row was moved, then the copy
    /// failed at the very end on a duplicate `task_sync` key, with a raw SQL message).
    @Test(arguments: BackendKind.available)
    func aCopyIntoADestinationWithHistoryIsRefusedUpFrontNamingIt(_ kind: BackendKind) throws {
        let source = try FreshDatabase(.memory)
        let sourceStore = try source.store()
        for index in 0..<20 { _ = try sourceStore.create(userID: "alice", state: state("t\(index)"), now: Self.now) }
        let destination = try FreshDatabase(kind)
        let store = try destination.store()
        let body = Array(#"{"title":"keyed"}"#.utf8)
        let key = IdempotencyKey(key: "k", fingerprint: String(repeating: "0", count: 64))
        guard case .created(let task) = try store.create(userID: "alice", state: state("keyed"), now: Self.now, idempotency: key,
                                                         render: { _ in body }) else {
            Issue.record("a keyed create did not create")
            return
        }
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(), now: Self.now) == .deleted)
        do {
            _ = try TaskCopy.run(from: source.backend, to: destination.backend)
            Issue.record("\(kind): a copy into a destination with history went through")
        } catch {
            #expect(error.kind == .conflict)
            #expect(error.description.contains("1 users with sync history") && error.description.contains("1 deletions kept for sync")
                    && error.description.contains("1 idempotency keys") && !error.description.contains(" tasks,"), "\(error)")
        }
        #expect(try destination.backend.countTasks() == 0)
        #expect(try store.syncPage(userID: "alice", since: nil, limit: 10).tasks.isEmpty)
    }

    /// `copy` drops the destination's secondary indexes for speed and builds them again: after
    /// it, every index is there, defined exactly as `migrate` defines it.
    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func aCopyLeavesTheDestinationWithEveryIndexAsMigrateMadeIt(_ kind: BackendKind) throws {
        let source = try FreshDatabase(.memory)
        let store = try source.store()
        for index in 0..<50 { _ = try store.create(userID: "u\(index % 3)", state: state("t\(index)"), now: Self.now) }
        let untouched = try FreshDatabase(kind)
        let copied = try FreshDatabase(kind)
        _ = try TaskCopy.run(from: source.backend, to: copied.backend)
        let expected = try indexDefinitions(of: untouched)
        #expect(expected.count >= 7, "\(expected)")
        #expect(try indexDefinitions(of: copied) == expected)
        // And a copy that fails leaves them too: the destination already has tasks.
        #expect(throws: StorageError.self) { _ = try TaskCopy.run(from: source.backend, to: copied.backend) }
        #expect(try indexDefinitions(of: copied) == expected)
    }

    @Test(arguments: BackendKind.available)
    func concurrentWritersLoseNothingAndNumberChangesOnce(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let writers = 4, each = 25
        let failures = Locked<[String]>([])
        let backend = database.backend
        try withThreads(writers) { index in
            do {
                let store = try backend.makeStore()
                for number in 0..<each {
                    _ = try store.create(userID: "shared", state: TaskState(title: "w\(index)-\(number)"), now: Self.now + Int64(number))
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let store = try database.store()
        let all = try ids(store, "shared")
        #expect(all.count == writers * each && Set(all).count == all.count)
        let page = try store.syncPage(userID: "shared", since: nil, limit: 1000)
        #expect(page.tasks.count == writers * each && !page.hasMore)
    }
}

/// Runs `body(index)` on `count` threads at once and waits for all.
func withThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) throws {
    final class Work: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) { self.body = body; self.index = index }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let work = Unmanaged.passRetained(Work(body, index)).toOpaque()
        guard pthread_create(&thread, nil, { argument in
            let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
            work.body(work.index)
            return nil
        }, work) == 0 else { throw StorageError(.internal, "pthread_create failed") }
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

import Clocks
import TaskModel

/// One thread's view of a `MemoryTaskBackend`: every operation is one step under the backend's
/// lock, so each is atomic and isolated as a database transaction is.
final class MemoryTaskStore: TaskStore {
    let backend: MemoryTaskBackend

    init(backend: MemoryTaskBackend) {
        self.backend = backend
    }

    func create(userID: String, state: TaskState, now: Int64, idempotency: IdempotencyKey?,
                render: @escaping TaskRenderer) throws(StorageError) -> CreateOutcome {
        let decided: CreateOutcome? = backend.database.withLock { database in
            let expired = now - IdempotencyKey.retentionMilliseconds
            if let idempotency {
                let id = MemoryDatabase.KeyRecordID(userID: userID, key: idempotency.key)
                if let record = database.keys[id], record.createdAt >= expired {
                    guard record.fingerprint == idempotency.fingerprint else { return .keyReused }
                    return .replayed(taskID: record.taskID, body: record.body)
                }
            }
            guard let created = database.insert(state, userID: userID, now: now) else { return nil }
            if let idempotency {
                // The user's expired keys, a bounded batch, as the databases do.
                let stale = database.keys.filter { $0.key.userID == userID && $0.value.createdAt < expired }.map(\.key)
                for id in stale.prefix(Int(IdempotencyKey.purgeBatch)) { database.keys[id] = nil }
                database.keys[MemoryDatabase.KeyRecordID(userID: userID, key: idempotency.key)] =
                    MemoryDatabase.KeyRecord(fingerprint: idempotency.fingerprint, taskID: created.id, body: render(created.row), createdAt: now)
            }
            return .created(created)
        }
        guard let outcome = decided else { throw MemoryDatabase.identityTaken }
        if outcome.changedTasks { backend.recordChange(of: userID) }
        return outcome
    }

    func find<Result>(userID: String, id: Int64, consistency _: ReadConsistency, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        backend.database.withLock { $0.task(id, of: userID) }.map { render($0.row) }
    }

    func find<Result>(userID: String, key: TaskCalendarKey, render: (TaskRow) -> Result) throws(StorageError) -> Result? {
        let task = backend.database.withLock { database in
            database.identities[MemoryDatabase.IdentityKey(userID: Array(userID.utf8), key: key.kind, value: Array(key.value.utf8))]
                .flatMap { database.tasks[$0]?.task }
        }
        return task.map { render($0.row) }
    }

    func list(userID: String, query: TaskListQuery, consistency _: ReadConsistency, row: (TaskRow) -> Void) throws(StorageError) -> Int64 {
        let matching = backend.database.withLock { database in
            database.tasks.values.map(\.task).filter { $0.userID.elementsEqual(userID.utf8) && Self.matches($0, query) }
        }
        let sorted = matching.sorted { Self.precedes($0, $1, query) }
        let start = Int(min(query.offset, Int64(sorted.count)))
        for task in sorted[start..<min(start + query.limit, sorted.count)] { row(task.row) }
        return Int64(matching.count)
    }

    func update(userID: String, id: Int64, update: TaskUpdate, now: Int64) throws(StorageError) -> UpdateOutcome {
        let outcome: UpdateOutcome = backend.database.withLock { database in
            guard let current = database.task(id, of: userID) else { return .notFound }
            let decision = update.decide(current: current, now: now)
            switch decision {
            case .unchanged:
                return .unchanged(current)
            case .invalid, .preconditionFailed:
                return .refused(decision)
            case .write(let write):
                // A next occurrence's identity is new and random: it cannot be taken.
                let next = write.nextOccurrence.flatMap { database.insert($0, userID: userID, now: write.updatedAt) }
                let updated = StoredTask(id: id, userID: userID, state: write.state, createdAt: current.createdAt,
                                         updatedAt: write.updatedAt, completedAt: write.completedAt,
                                         nextTaskID: next?.id ?? current.nextTaskID, version: current.version + 1)
                database.tasks[id] = (updated, database.nextChange(userID))
                return .updated(updated)
            }
        }
        if outcome.changedTasks { backend.recordChange(of: userID) }
        return outcome
    }

    func delete(userID: String, id: Int64, deletion: TaskDeletion, now: Int64) throws(StorageError) -> DeleteOutcome {
        let outcome: DeleteOutcome = backend.database.withLock { database in
            guard let current = database.task(id, of: userID) else { return .notFound }
            guard deletion.allows(version: current.version) else { return .preconditionFailed }
            database.tasks[id] = nil
            database.unindex(current)
            database.tombstones.append((userID, database.nextChange(userID), id, now, String(decoding: current.resourceName, as: UTF8.self)))
            // Tombstones past their retention go; a cursor before the newest gone is expired.
            let cutoff = now - SyncPage.tombstoneRetentionMilliseconds
            let purged = database.tombstones.filter { $0.userID == userID && $0.deletedAt < cutoff }.map(\.change).max()
            if let purged {
                database.tombstones.removeAll { $0.userID == userID && $0.change <= purged }
                database.sync[userID, default: (0, 0)].purgedThrough = max(database.sync[userID]?.purgedThrough ?? 0, purged)
            }
            return .deleted
        }
        if outcome.changedTasks { backend.recordChange(of: userID) }
        return outcome
    }

    func syncPage(userID: String, since: SyncPosition?, limit: Int, consistency _: ReadConsistency) throws(StorageError) -> SyncPage {
        backend.database.withLock { database in
            let (lastChange, purgedThrough) = database.sync[userID] ?? (0, 0)
            if let since, let refusal = SyncPage.refusal(of: since, lastChange: lastChange, purgedThrough: purgedThrough) {
                var refused = SyncPage()
                refused.refusal = refusal
                return refused
            }
            let after = since?.change ?? 0
            let tasks = database.tasks.values.filter { $0.task.userID.elementsEqual(userID.utf8) && $0.change > after }
                .sorted { $0.change < $1.change }.prefix(limit).map { (change: $0.change, task: $0.task) }
            let deletions = since == nil ? [] : database.tombstones.filter { $0.userID == userID && $0.change > after }
                .sorted { $0.change < $1.change }.prefix(limit)
                .map { (change: $0.change, task: DeletedTask(id: $0.taskID, resourceName: $0.resourceName)) }
            return SyncPage.assemble(since: since, lastChange: lastChange, tasks: tasks, deletions: deletions, limit: limit)
        }
    }

    func syncCursorKey() throws(StorageError) -> [UInt8] {
        backend.database.withLock { $0.cursorKey }
    }

    func checkHealth() throws(StorageError) {}

    /// Whether `task` passes the query's filters (the same conditions `TaskListSQL` writes).
    private static func matches(_ task: StoredTask, _ query: TaskListQuery) -> Bool {
        switch query.status {
        case .all: break
        case .pending: if task.completed { return false }
        case .completed: if !task.completed { return false }
        }
        if !query.priorities.isEmpty, !query.priorities.contains(task.priority) { return false }
        if let hasDue = query.hasDue, (task.dueDate != nil) != hasDue { return false }
        if let before = query.dueBefore, !(task.dueDate.map { $0.milliseconds < before } ?? false) { return false }
        if let after = query.dueAfter, !(task.dueDate.map { $0.milliseconds >= after } ?? false) { return false }
        let state = task.state
        if !query.tags.isEmpty {
            let keys = state.tagKeys
            for tag in query.tags where !keys.contains(TaskTags.separator + tag + TaskTags.separator) { return false }
        }
        if !query.searchTerms.isEmpty {
            let text = state.searchText
            for term in query.searchTerms where !Self.bytes(of: text, contain: term) { return false }
        }
        return true
    }

    /// Whether `needle`'s UTF-8 occurs in `text`'s (a byte substring, as `instr`/`strpos` test).
    private static func bytes(of text: String, contain needle: String) -> Bool {
        let haystack = Array(text.utf8), pattern = Array(needle.utf8)
        guard haystack.count >= pattern.count else { return false }
        return (0...(haystack.count - pattern.count)).contains { start in haystack[start..<(start + pattern.count)].elementsEqual(pattern) }
    }

    /// Whether `lhs` comes before `rhs` in the query's order (ties by id in its direction).
    private static func precedes(_ lhs: StoredTask, _ rhs: StoredTask, _ query: TaskListQuery) -> Bool {
        let ascending = query.order == .asc
        func ordered<Key: Comparable>(_ a: Key, _ b: Key) -> Bool? {
            if a == b { return nil }
            return ascending ? a < b : a > b
        }
        let byID = ascending ? lhs.id < rhs.id : lhs.id > rhs.id
        switch query.sort {
        case .created: return ordered(lhs.createdAt, rhs.createdAt) ?? byID
        case .updated: return ordered(lhs.updatedAt, rhs.updatedAt) ?? byID
        case .priority: return ordered(lhs.priority.rawValue, rhs.priority.rawValue) ?? byID
        case .title:
            // Byte order of the lower-cased UTF-8, as both databases compare (BINARY, "C").
            let a = Array(lhs.state.titleKey.utf8), b = Array(rhs.state.titleKey.utf8)
            if a == b { return byID }
            return ascending ? a.lexicographicallyPrecedes(b) : b.lexicographicallyPrecedes(a)
        case .dueDate:
            // No due date last both ways; at an equal instant, all-day first both ways (contract §10).
            switch (lhs.dueDate, rhs.dueDate) {
            case (nil, nil): return byID
            case (nil, _): return false
            case (_, nil): return true
            case (let a?, let b?):
                if let order = ordered(a.milliseconds, b.milliseconds) { return order }
                if a.isAllDay != b.isAllDay { return a.isAllDay }
                return byID
            }
        }
    }
}


/// Tasks copied into a memory backend: held aside until `finish`, as a database transaction.
final class MemoryTaskImporter: TaskImporter {
    let backend: MemoryTaskBackend
    private var pending: [StoredTask] = []

    init(backend: MemoryTaskBackend) {
        self.backend = backend
    }

    func insert(_ batch: StoredRowBatch) throws(StorageError) {
        for index in 0..<batch.count { pending.append(StoredTask(batch.row(index) as any TaskRowSource)) }
    }

    func finish(highestIssuedID: Int64, syncCursorKey: [UInt8], syncUsers: [String],
                appPasswords: [StoredAppPassword]) throws(StorageError) -> Int {
        // As the databases: change numbers are the ids, counters start at the copy's time.
        let start = WallClock.milliseconds()
        backend.database.withLock { database in
            database.cursorKey = syncCursorKey
            for task in pending {
                database.tasks[task.id] = (task, task.id)
                database.index(task)
                database.sync[String(decoding: task.userID, as: UTF8.self)] = (start, start)
            }
            for user in syncUsers where database.sync[user] == nil { database.sync[user] = (start, start) }
            database.highestIssuedID = max(highestIssuedID, pending.map(\.id).max() ?? 0)
            for stored in appPasswords {
                database.appPasswords[stored.password.id] = (stored.userID, stored.digest, stored.password)
            }
            database.highestAppPasswordID = max(database.highestAppPasswordID, appPasswords.map(\.password.id).max() ?? 0)
        }
        return pending.count
    }
}

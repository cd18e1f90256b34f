/// A write to an existing task (PUT, merge PATCH, PATCH …/complete) and its preconditions.
///
/// The rules live here, decided from the stored task alone, so each backend runs exactly the
/// same ones inside its own transaction, after reading the task and before changing it.
public struct TaskUpdate: Sendable {
    /// What the request asks.
    public enum Kind: Sendable {
        /// PUT: the given fields; always a write.
        case replace(TaskChanges)
        /// PATCH (RFC 7396): the given fields; a write only when something changes.
        case merge(TaskChanges)
        /// PATCH …/complete: set `completed`, or toggle it when nil; always a write.
        case complete(Bool?)
        /// A CalDAV PUT: every writable field and the kept iCalendar text, as the client's
        /// VTODO says (the UID and resource name stay); always a write.
        case calendar(TaskState)
    }

    /// What the request asks.
    public var kind: Kind
    /// The `If-Match` header, if sent.
    public var ifMatch: String?

    /// A write of `kind`, conditional on `ifMatch`.
    public init(_ kind: Kind, ifMatch: String? = nil) {
        self.kind = kind
        self.ifMatch = ifMatch
    }

    /// What to do to `current` at `now` (milliseconds). Validation against the result comes
    /// first (400), then `If-Match` (412), then whether anything changes.
    public func decide(current: StoredTask, now: Int64) -> TaskUpdateDecision {
        let before = current.state
        var after = before
        switch kind {
        case .replace(let changes), .merge(let changes):
            after = changes.applied(to: before)
        case .complete(let completed):
            after.completed = completed ?? !before.completed
        case .calendar(let state):
            after = state
            after.uid = before.uid
            after.resourceName = before.resourceName
        }
        if let violation = after.ruleViolation {
            return .invalid(violation)
        }
        if let ifMatch, !EntityTags.ifMatch(ifMatch, version: current.version) {
            return .preconditionFailed
        }
        if case .merge = kind, after == before {
            return .unchanged
        }
        let updatedAt = max(now, current.updatedAt + 1)
        let becameCompleted = after.completed && !before.completed
        let completedAt = after.reportedCompletedAt ?? (becameCompleted ? updatedAt : current.completedAt ?? updatedAt)
        var write = TaskWrite(state: after, updatedAt: updatedAt, completedAt: after.completed ? completedAt : nil)
        if becameCompleted, current.nextTaskID == nil, let recurrence = after.recurrence, let dueDate = after.dueDate {
            let nextDue = recurrence.advance(dueDate)
            // Past year 9999 there is no due date to give it: the series ends there.
            if nextDue.milliseconds <= Timestamp.latest {
                var next = after
                next.completed = false
                next.dueDate = nextDue
                // A task of its own for CalDAV too: a new UID and resource name, the kept properties carried.
                next.uid = ""
                next.resourceName = ""
                next.reportedCompletedAt = nil
                write.nextOccurrence = next
            }
        }
        return .write(write)
    }
}

/// The outcome of `TaskUpdate.decide`.
public enum TaskUpdateDecision: Sendable {
    /// The result would break a rule of the task model (a recurrence without a due date): 400.
    case invalid(TaskRuleViolation)
    /// `If-Match` lists no current tag: 412, nothing done.
    case preconditionFailed
    /// A merge that changes nothing: 200 with the task as it is, version kept.
    case unchanged
    /// Store this.
    case write(TaskWrite)
}

/// A decided write: the task's new state and what comes with it.
public struct TaskWrite: Sendable, Equatable {
    /// The new writable fields.
    public var state: TaskState
    /// The new `updated_at`: `now`, or one past the previous value if the clock is behind.
    public var updatedAt: Int64
    /// The new `completed_at`.
    public var completedAt: Int64?
    /// The occurrence to create in the same transaction (and link as `next_task_id`), when this
    /// write completes a recurring task that has none yet.
    public var nextOccurrence: TaskState?
}

/// A DELETE's precondition.
public struct TaskDeletion: Sendable {
    /// The `If-Match` header, if sent.
    public var ifMatch: String?

    /// A deletion conditional on `ifMatch`.
    public init(ifMatch: String? = nil) {
        self.ifMatch = ifMatch
    }

    /// Whether a task at `version` may be deleted.
    public func allows(version: Int64) -> Bool {
        ifMatch.map { EntityTags.ifMatch($0, version: version) } ?? true
    }

    /// The versions `If-Match` accepts; nil when any version is (no header, or `*`).
    public var acceptedVersions: [Int64]? {
        ifMatch.flatMap { EntityTags.strongVersions($0) }
    }
}

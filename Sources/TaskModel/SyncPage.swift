/// Where a sync client stands, as its cursor says.
///
/// `change` is the last change it was given: the next page starts after it. `floor` is the
/// user's last change when the client's first sync began (carried through every page after):
/// the client never held a task deleted at or before it, so it needs only the deletions after
/// `max(change, floor)`. While the first sync pages through old tasks, `change` is far behind
/// the tombstones already purged, but the floor is not: a cursor the server issued is refused
/// as expired only when deletions made after it was issued have since been purged (30 days).
public struct SyncPosition: Sendable, Equatable {
    /// The last change given to the client.
    public var change: Int64
    /// Every deletion after this change is one the client may need.
    public var floor: Int64

    /// A position after `change`, needing deletions after `floor`.
    public init(change: Int64, floor: Int64) {
        self.change = change
        self.floor = floor
    }

    /// The first deletion the client may need comes after this change.
    public var needsDeletionsAfter: Int64 { max(change, floor) }
}

/// One page of changes for incremental sync.
public struct SyncPage: Sendable {
    /// Tasks created or changed after the cursor, in their current state, oldest change first.
    public var tasks: [StoredTask] = []
    /// Tasks deleted after the cursor.
    public var deleted: [DeletedTask] = []
    /// The position to resume after.
    public var cursor = SyncPosition(change: 0, floor: 0)
    /// Whether the page was full: calling again may find more.
    public var hasMore = false
    /// Why there is no page: the cursor is newer than any change of the user's (never issued),
    /// or older than the tombstones kept.
    public var refusal: Refusal?

    /// Why `since` cannot be served.
    public enum Refusal: Sendable, Equatable {
        /// Newer than any change of this user: never issued to them.
        case unknown
        /// Older than the oldest tombstone kept: sync from scratch.
        case expired
    }

    /// An empty page.
    public init() {}

    /// Whether the page moves its reader past `since`: it shows a change, or hands out a cursor
    /// later than `since` (a first sync's, at the user's last change). A cursor past a change
    /// that is then lost (a failed flush) would skip the change that reuses its number.
    public func movesPast(_ since: SyncPosition?) -> Bool {
        refusal == nil && (cursor.change > (since?.change ?? 0) || cursor.floor > (since?.floor ?? 0))
    }

    /// How long tombstones are kept at least (30 days); a cursor older than that is expired.
    public static let tombstoneRetentionMilliseconds: Int64 = 30 * 86_400_000

    /// Whether `since` can be served, given the user's last change and the newest change whose
    /// tombstone was purged: nil when it can, else why not. Checked before reading the changes.
    package static func refusal(of since: SyncPosition, lastChange: Int64, purgedThrough: Int64) -> Refusal? {
        if since.change > lastChange || since.floor > lastChange { return .unknown }
        if since.needsDeletionsAfter < purgedThrough { return .expired }
        return nil
    }

    /// The page after `since` (nil: the first sync, which lists no deletions): `tasks` and
    /// `deletions` (each already ordered by change number, each at most `limit` long, read in
    /// one snapshot with `lastChange`) merged into at most `limit` entries, oldest change first.
    /// A first sync's floor is `lastChange`; later pages keep the floor they were given.
    package static func assemble(since: SyncPosition?, lastChange: Int64, tasks: [(change: Int64, task: StoredTask)],
                         deletions: [(change: Int64, task: DeletedTask)], limit: Int) -> SyncPage {
        var page = merge(tasks: tasks, deletions: deletions, limit: limit, since: since?.change ?? 0)
        page.cursor.floor = since?.floor ?? lastChange
        if !page.hasMore { page.cursor.change = lastChange }
        return page
    }

    /// Merges `tasks` and `deletions` (each already ordered by change number) into one page of
    /// at most `limit` entries, oldest change first; the cursor's change is the last one taken.
    private static func merge(tasks: [(change: Int64, task: StoredTask)], deletions: [(change: Int64, task: DeletedTask)],
                              limit: Int, since: Int64) -> SyncPage {
        var page = SyncPage()
        page.cursor.change = since
        var taskIndex = 0
        var deletionIndex = 0
        var taken = 0
        while taken < limit, taskIndex < tasks.count || deletionIndex < deletions.count {
            let takeTask = deletionIndex >= deletions.count
                || (taskIndex < tasks.count && tasks[taskIndex].change < deletions[deletionIndex].change)
            if takeTask {
                page.tasks.append(tasks[taskIndex].task)
                page.cursor.change = tasks[taskIndex].change
                taskIndex += 1
            } else {
                page.deleted.append(deletions[deletionIndex].task)
                page.cursor.change = deletions[deletionIndex].change
                deletionIndex += 1
            }
            taken += 1
        }
        page.hasMore = taken == limit
        return page
    }
}

/// A deleted task as sync reports it: its id (`/tasks/changes`) and its resource name (CalDAV's
/// `sync-collection`; empty for a deletion made before schema 6 and 8 kept it).
public struct DeletedTask: Sendable, Equatable {
    /// The task's id.
    public let id: Int64
    /// Its CalDAV resource name.
    public let resourceName: String

    /// A deletion of task `id` named `resourceName`.
    public init(id: Int64, resourceName: String) {
        self.id = id
        self.resourceName = resourceName
    }
}

/// Each user's number of tasks and of completed tasks, kept beside their change number in
/// `task_sync` (SQLite schema 5, PostgreSQL schema 7) by every write, in the write's own statement
/// that takes the change number (`nextChangeSQL`): a list's `X-Total-Count` with no filter but `status` is then one row
/// read, not a count over every task the user has (#38). `copy` and the migration count them
/// from the tasks; a test holds them to `count(*)` after every kind of write on every backend.
package enum TaskCounts {
    /// The column of the user's number of tasks.
    package static let tasksColumn = "task_count"
    /// The column of the user's number of completed tasks.
    package static let completedColumn = "completed_count"

    /// The statement that takes a user's next change number (one past their last, returned as
    /// `last_change`) and moves their counters, the same on both databases. `row` gives the row
    /// to insert — the user, 1, the move of the task count and of the completed count — as a
    /// `VALUES` list, or as a `SELECT` that gives it once per row of its source (none: nothing
    /// is numbered). The row lock it takes orders the user's writes, so their numbers follow
    /// commit order.
    package static func nextChangeSQL(row: String) -> String {
        """
        INSERT INTO task_sync (user_id, last_change, \(tasksColumn), \(completedColumn)) \(row)
        ON CONFLICT (user_id) DO UPDATE SET last_change = task_sync.last_change + 1,
            \(tasksColumn) = task_sync.\(tasksColumn) + excluded.\(tasksColumn),
            \(completedColumn) = task_sync.\(completedColumn) + excluded.\(completedColumn)
        RETURNING last_change
        """
    }

    /// The count of `status` from the counters of the user in `user` (a placeholder), 0 for a
    /// user with no row yet: the list's `X-Total-Count` when `give` says the counters answer it.
    package static func countSQL(for status: TaskListQuery.Status, user: String) -> String {
        "SELECT coalesce((SELECT \(expression(for: status)) FROM task_sync WHERE user_id = \(user)), 0)"
    }

    /// Counts every owner's tasks again into their counters, giving an owner without a
    /// `task_sync` row one (the same SQL on both databases): the migration that added the
    /// counters, and `todo-fcgi recount` after writes made outside the service.
    package static let recountSQL = """
        INSERT INTO task_sync (user_id, last_change) SELECT DISTINCT user_id, 0 FROM tasks WHERE true
            ON CONFLICT (user_id) DO NOTHING;
        UPDATE task_sync SET
            \(tasksColumn) = (SELECT count(*) FROM tasks WHERE tasks.user_id = task_sync.user_id),
            \(completedColumn) = (SELECT count(*) FROM tasks WHERE tasks.user_id = task_sync.user_id AND tasks.completed);
        """

    /// How many users' counters differ from a count of their tasks (owners without a row
    /// included): what `check` reports and `recount` mends.
    package static let driftSQL = """
        SELECT count(*) FROM (
            SELECT owners.user_id FROM (SELECT DISTINCT user_id FROM tasks) AS owners
            LEFT JOIN task_sync ON task_sync.user_id = owners.user_id WHERE task_sync.user_id IS NULL
            UNION ALL
            SELECT user_id FROM task_sync
            WHERE \(tasksColumn) <> (SELECT count(*) FROM tasks WHERE tasks.user_id = task_sync.user_id)
                OR \(completedColumn) <> (SELECT count(*) FROM tasks WHERE tasks.user_id = task_sync.user_id AND tasks.completed)
        ) AS drifted
        """

    /// The line `check` fails with when `users` users' counters drifted.
    package static func driftMessage(_ users: Int64) -> String {
        "\(users) users' task counts differ from their tasks (tasks written outside todo-fcgi?): lists would report "
            + "a wrong X-Total-Count; run `todo-fcgi recount`"
    }

    /// Whether the counters give `query`'s count: it filters on nothing but `status`.
    package static func give(_ query: TaskListQuery) -> Bool {
        query.searchTerms.isEmpty && query.tags.isEmpty && query.dueBefore == nil && query.dueAfter == nil && query.hasDue == nil
            && (query.priorities.isEmpty || query.priorities.count == TaskPriority.allCases.count)
    }

    /// The count of `status` from a `task_sync` row's counters.
    private static func expression(for status: TaskListQuery.Status) -> String {
        switch status {
        case .all: return tasksColumn
        case .completed: return completedColumn
        case .pending: return "\(tasksColumn) - \(completedColumn)"
        }
    }

    /// How one write moves a user's counters.
    package struct Delta: Equatable, Sendable {
        /// Tasks added (1), removed (-1) or neither (0).
        package var tasks: Int
        /// Completed tasks added or removed.
        package var completed: Int

        /// A task inserted in `state`.
        package static func inserted(completed: Bool) -> Delta { Delta(tasks: 1, completed: completed ? 1 : 0) }
        /// A task removed that was `completed` or not.
        package static func removed(completed: Bool) -> Delta { Delta(tasks: -1, completed: completed ? -1 : 0) }
        /// A task whose completion went from `before` to `after`.
        package static func updated(completedBefore before: Bool, after: Bool) -> Delta {
            Delta(tasks: 0, completed: (after ? 1 : 0) - (before ? 1 : 0))
        }
    }
}

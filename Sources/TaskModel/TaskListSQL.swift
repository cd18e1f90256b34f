/// The filter and order of a list, as SQL both backends run: built from enums and numbers only;
/// every value from the query string (search terms, tags, instants) is a bound parameter.
package struct TaskListSQL {
    /// A value to bind.
    package enum Parameter: Equatable {
        case text(String)
        case integer(Int64)
    }

    /// The condition after `user_id = <first parameter>`, starting with ` AND` (or empty).
    package let condition: String
    /// The `ORDER BY` list, ending with the id tie-break.
    package let order: String
    /// The parameters of `condition`, in placeholder order after the fixed ones.
    package let parameters: [Parameter]

    /// Builds the condition for `query`; `placeholder(n, value)` spells the n-th parameter of
    /// the dialect (with a cast where it needs one), counting from `firstParameter`, and `contains(column, placeholder)` a substring test.
    package init(_ query: TaskListQuery, firstParameter: Int, placeholder: (Int, Parameter) -> String,
         contains: (String, String) -> String, columnPrefix: String = "") {
        var condition = ""
        let parameters = Self.parameters(of: query)
        var used = 0
        // The placeholder of the next parameter: conditions are written in `parameters(of:)`'s order.
        func next() -> String {
            defer { used += 1 }
            return placeholder(firstParameter + used, parameters[used])
        }
        let column = { (column: TaskColumn) in columnPrefix + column.name }
        switch query.status {
        case .all: break
        case .pending: condition += " AND \(column(.completed)) = \(Self.false)"
        case .completed: condition += " AND \(column(.completed)) = \(Self.true)"
        }
        if !query.priorities.isEmpty, query.priorities.count < TaskPriority.allCases.count {
            condition += " AND \(column(.priority)) IN (" + query.priorities.map(\.rawValue).sorted().map(String.init).joined(separator: ", ") + ")"
        }
        switch query.hasDue {
        case true?: condition += " AND \(column(.dueDate)) IS NOT NULL"
        case false?: condition += " AND \(column(.dueDate)) IS NULL"
        case nil: break
        }
        if query.dueBefore != nil { condition += " AND \(column(.dueDate)) < \(next())" }
        if query.dueAfter != nil { condition += " AND \(column(.dueDate)) >= \(next())" }
        for _ in query.tags {
            condition += " AND " + contains(column(.tagKeys), next())
        }
        for _ in query.searchTerms {
            condition += " AND " + contains(column(.searchText), next())
        }
        let direction = query.order == .asc ? "ASC" : "DESC"
        switch query.sort {
        case .created: order = "\(column(.createdAt)) \(direction), \(column(.id)) \(direction)"
        case .updated: order = "\(column(.updatedAt)) \(direction), \(column(.id)) \(direction)"
        case .title: order = "\(column(.titleKey)) \(direction), \(column(.id)) \(direction)"
        case .priority: order = "\(column(.priority)) \(direction), \(column(.id)) \(direction)"
        case .dueDate:
            // Tasks without a due date come last in both directions, and at an equal instant
            // all-day tasks come first (contract §10); each direction has an index in exactly
            // this order (forwards and backwards), so no sort step is needed.
            if query.order == .asc {
                order = "(\(column(.dueDate)) IS NULL) ASC, \(column(.dueDate)) ASC, \(column(.dueAllDay)) DESC, \(column(.id)) ASC"
            } else {
                order = "(\(column(.dueDate)) IS NOT NULL) DESC, \(column(.dueDate)) DESC, \(column(.dueAllDay)) DESC, \(column(.id)) DESC"
            }
        }
        self.condition = condition
        self.parameters = parameters
    }

    /// The values `query`'s condition binds, in placeholder order, without writing its text: all
    /// a prepared statement of the query's shape needs for each request.
    package static func parameters(of query: TaskListQuery) -> [Parameter] {
        var values: [Parameter] = []
        if let before = query.dueBefore { values.append(.integer(before)) }
        if let after = query.dueAfter { values.append(.integer(after)) }
        for tag in query.tags { values.append(.text(TaskTags.separator + tag + TaskTags.separator)) }
        for term in query.searchTerms { values.append(.text(term)) }
        return values
    }

    /// Booleans are 0/1 in SQLite and true/false in PostgreSQL; both read `completed = TRUE`.
    private static let `true` = "TRUE"
    private static let `false` = "FALSE"
}

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
        var parameters: [Parameter] = []
        func next(_ value: Parameter) -> String {
            parameters.append(value)
            return placeholder(firstParameter + parameters.count - 1, value)
        }
        let column = { (name: String) in columnPrefix + name }
        switch query.status {
        case .all: break
        case .pending: condition += " AND \(column("completed")) = \(Self.false)"
        case .completed: condition += " AND \(column("completed")) = \(Self.true)"
        }
        if !query.priorities.isEmpty, query.priorities.count < TaskPriority.allCases.count {
            condition += " AND \(column("priority")) IN (" + query.priorities.map(\.rawValue).sorted().map(String.init).joined(separator: ", ") + ")"
        }
        switch query.hasDue {
        case true?: condition += " AND \(column("due_date")) IS NOT NULL"
        case false?: condition += " AND \(column("due_date")) IS NULL"
        case nil: break
        }
        if let before = query.dueBefore { condition += " AND \(column("due_date")) < \(next(.integer(before)))" }
        if let after = query.dueAfter { condition += " AND \(column("due_date")) >= \(next(.integer(after)))" }
        for tag in query.tags {
            condition += " AND " + contains(column("tag_keys"), next(.text(TaskTags.separator + tag + TaskTags.separator)))
        }
        for term in query.searchTerms {
            condition += " AND " + contains(column("search_text"), next(.text(term)))
        }
        let direction = query.order == .asc ? "ASC" : "DESC"
        switch query.sort {
        case .created: order = "\(column("created_at")) \(direction), \(column("id")) \(direction)"
        case .updated: order = "\(column("updated_at")) \(direction), \(column("id")) \(direction)"
        case .title: order = "\(column("title_key")) \(direction), \(column("id")) \(direction)"
        case .priority: order = "\(column("priority")) \(direction), \(column("id")) \(direction)"
        case .dueDate:
            // Tasks without a due date come last in both directions, and at an equal instant
            // all-day tasks come first (contract §10); each direction has an index in exactly
            // this order (forwards and backwards), so no sort step is needed.
            if query.order == .asc {
                order = "(\(column("due_date")) IS NULL) ASC, \(column("due_date")) ASC, \(column("due_all_day")) DESC, \(column("id")) ASC"
            } else {
                order = "(\(column("due_date")) IS NOT NULL) DESC, \(column("due_date")) DESC, \(column("due_all_day")) DESC, \(column("id")) DESC"
            }
        }
        self.condition = condition
        self.parameters = parameters
    }

    /// Booleans are 0/1 in SQLite and true/false in PostgreSQL; both read `completed = TRUE`.
    private static let `true` = "TRUE"
    private static let `false` = "FALSE"
}

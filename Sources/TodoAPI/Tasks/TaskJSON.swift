import JSON
import TaskModel

/// Renders tasks as the API's JSON, straight from database rows into response bytes.
enum TaskJSON {
    /// One task as a JSON object.
    static func encode(_ row: TaskRow) -> [UInt8] {
        var writer = JSONWriter(capacity: 384)
        write(row, to: &writer)
        return writer.bytes
    }

    /// Appends one task object to `writer`.
    static func write(_ row: TaskRow, to writer: inout JSONWriter) {
        writer.raw("{\"id\":")
        writer.integer(row.id)
        writer.raw(",\"user_id\":")
        row.withUserID { writer.string(utf8: $0) }
        writer.raw(",\"title\":")
        row.withTitle { writer.string(utf8: $0) }
        writer.raw(",\"description\":")
        if row.hasDescription { row.withDescription { writer.string(utf8: $0) } } else { writer.null() }
        writer.raw(",\"completed\":")
        writer.bool(row.completed)
        writer.raw(",\"created_at\":")
        timestamp(row.createdAt, to: &writer)
        writer.raw(",\"updated_at\":")
        timestamp(row.updatedAt, to: &writer)
        switch row.priority {
        case .low: writer.raw(",\"priority\":\"low\"")
        case .medium: writer.raw(",\"priority\":\"medium\"")
        case .high: writer.raw(",\"priority\":\"high\"")
        }
        // Stored as the JSON array this service wrote: copied as is.
        writer.raw(",\"tags\":")
        row.withTagsJSON { writer.raw(utf8: $0) }
        writer.raw(",\"due_date\":")
        if let due = row.dueDate { writer.unescapedString(maximumBytes: Timestamp.byteCount) { due.write(into: $0) } } else { writer.null() }
        writer.raw(",\"recurrence\":")
        if let recurrence = row.recurrence {
            writer.raw("{\"frequency\":")
            writer.string(recurrence.frequency.name)
            writer.raw(",\"interval\":")
            writer.integer(recurrence.interval)
            writer.raw("}")
        } else {
            writer.null()
        }
        writer.raw(",\"completed_at\":")
        optionalTimestamp(row.completedAt, to: &writer)
        writer.raw(",\"next_task_id\":")
        if let next = row.nextTaskID { writer.integer(next) } else { writer.null() }
        writer.raw(",\"version\":")
        writer.integer(row.version)
        // Addendum v2.2: the VTODO's UID, read-only.
        writer.raw(",\"uid\":")
        row.withUID { writer.string(utf8: $0) }
        writer.raw("}")
    }

    private static func timestamp(_ milliseconds: Int64, to writer: inout JSONWriter) {
        writer.unescapedString(maximumBytes: Timestamp.byteCount) { Timestamp.write(milliseconds: milliseconds, into: $0) }
    }

    private static func optionalTimestamp(_ milliseconds: Int64?, to writer: inout JSONWriter) {
        if let milliseconds { timestamp(milliseconds, to: &writer) } else { writer.null() }
    }
}

import JSON

/// Renders tasks as the API's JSON, straight from database rows into response bytes.
enum TaskJSON {
    /// One task as a JSON object.
    static func encode(_ row: TaskRow) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
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
        let createdAt = row.createdAt
        writer.unescapedString { Timestamp.append(milliseconds: createdAt, to: &$0) }
        writer.raw(",\"updated_at\":")
        let updatedAt = row.updatedAt
        writer.unescapedString { Timestamp.append(milliseconds: updatedAt, to: &$0) }
        writer.raw("}")
    }
}

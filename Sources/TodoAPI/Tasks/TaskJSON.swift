import JSON

/// Renders tasks as the API's JSON, straight into bytes.
enum TaskJSON {
    static func encode(_ task: TodoTask) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        write(task, to: &writer)
        return writer.bytes
    }

    static func encode(_ tasks: [TodoTask]) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + tasks.count * 220)
        writer.raw("[")
        for (index, task) in tasks.enumerated() {
            if index > 0 { writer.raw(",") }
            write(task, to: &writer)
        }
        writer.raw("]")
        return writer.bytes
    }

    private static func write(_ task: TodoTask, to writer: inout JSONWriter) {
        writer.raw("{\"id\":")
        writer.integer(task.id)
        writer.raw(",\"user_id\":")
        writer.string(task.userID)
        writer.raw(",\"title\":")
        writer.string(task.title)
        writer.raw(",\"description\":")
        if let description = task.description { writer.string(description) } else { writer.null() }
        writer.raw(",\"completed\":")
        writer.bool(task.completed)
        writer.raw(",\"created_at\":")
        writer.timestamp(milliseconds: task.createdAt)
        writer.raw(",\"updated_at\":")
        writer.timestamp(milliseconds: task.updatedAt)
        writer.raw("}")
    }
}

extension JSONWriter {
    /// Appends an RFC 3339 timestamp string.
    mutating func timestamp(milliseconds: Int64) {
        var text: [UInt8] = []
        text.reserveCapacity(24)
        Timestamp.append(milliseconds: milliseconds, to: &text)
        string(utf8: text)
    }
}

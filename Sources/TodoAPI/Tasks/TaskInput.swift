import JSON
import TaskModel

/// Validates request bodies into task states and changes. Every message names the field at
/// fault. Unknown fields are ignored at any depth (contract v2 §0); known fields keep every
/// type and range check.
public enum TaskInput {
    /// The longest title, in characters, after trimming.
    public static let maximumTitleLength = 200
    /// The longest description, in characters.
    public static let maximumDescriptionLength = 1000

    /// Parses the body of POST: `title` is required, every other field takes its default.
    public static func create(from body: [UInt8]) throws(APIError) -> TaskState {
        let object = try parseObject(body)
        guard object["title"] != nil else { throw APIError.validation("title is required.") }
        let changes = try changes(in: object)
        var state = changes.applied(to: TaskState(title: ""))
        try requireDueDateForRecurrence(state)
        state.completed = changes.completed ?? false
        return state
    }

    /// Parses the body of PUT or of a merge PATCH (RFC 7396 over the task's flat fields):
    /// every field optional; `{}` is no change.
    public static func changes(from body: [UInt8]) throws(APIError) -> TaskChanges {
        try changes(in: parseObject(body))
    }

    /// Parses the body of PATCH .../complete: `{"completed": bool}`.
    public static func completion(from body: [UInt8]) throws(APIError) -> Bool {
        let object = try parseObject(body)
        try checkReadOnlyFields(object)
        guard let completed = try optionalBoolean(object, "completed") else {
            throw APIError.validation("completed is required (or send no body to toggle).")
        }
        return completed
    }

    /// 400 when the task would break a rule of the task model (a recurrence without a due date).
    static func requireDueDateForRecurrence(_ state: TaskState) throws(APIError) {
        if let violation = state.ruleViolation { throw APIError.validation(violation.message) }
    }

    /// Contract §11: no text field may hold U+0000, on any backend (PostgreSQL's text cannot).
    /// Tags refuse it with every other control character.
    static func refuseNUL(_ text: String, _ field: String) throws(APIError) {
        guard !text.utf8.contains(0) else { throw APIError.validation("\(field) must not contain U+0000.") }
    }

    /// The changes a parsed object asks for, under every rule above: the one validation JSON
    /// bodies and CalDAV's VTODOs (`VTODOReader`, which builds such an object) both go through.
    static func changes(in object: [String: JSONValue]) throws(APIError) -> TaskChanges {
        try checkReadOnlyFields(object)
        var changes = TaskChanges()
        switch object["title"] {
        case nil: break
        case .string(let raw)?:
            try refuseNUL(raw, "title")
            let title = trimmingWhitespace(raw)
            let length = title.unicodeScalars.count
            guard length >= 1, length <= maximumTitleLength else {
                throw APIError.validation("title must be 1 to \(maximumTitleLength) characters after trimming whitespace (it is \(length)).")
            }
            changes.title = title
        case let other?:
            throw APIError.validation("title must be a string, not \(other.typeName).")
        }
        switch object["description"] {
        case nil: break
        case .null?: changes.description = .some(nil)
        case .string(let text)?:
            try refuseNUL(text, "description")
            let length = text.unicodeScalars.count
            guard length <= maximumDescriptionLength else {
                throw APIError.validation("description must be at most \(maximumDescriptionLength) characters (it is \(length)).")
            }
            changes.description = .some(text)
        case let other?:
            throw APIError.validation("description must be a string or null, not \(other.typeName).")
        }
        changes.completed = try optionalBoolean(object, "completed")
        switch object["priority"] {
        case nil: break
        case .null?: changes.priority = .default
        case .string(let name)?:
            guard let priority = TaskPriority(name: name) else {
                throw APIError.validation("priority must be low, medium or high (or null for medium).")
            }
            changes.priority = priority
        case let other?:
            throw APIError.validation("priority must be low, medium or high, not \(other.typeName).")
        }
        switch object["tags"] {
        case nil: break
        case .null?: changes.tags = []
        case .array(let values)?: changes.tags = try tags(values)
        case let other?:
            throw APIError.validation("tags must be an array of strings (or null for none), not \(other.typeName).")
        }
        switch object["due_date"] {
        case nil: break
        // Contract §10: "" is no date, as null (what an HTML form sends for an empty date field).
        case .null?, .string("")?: changes.dueDate = .some(nil)
        case .string(let text)?:
            guard let due = TaskDueDate.parse(text.utf8) else {
                throw APIError.validation("due_date must be a date YYYY-MM-DD (all day, e.g. 2026-12-24) or an RFC 3339 "
                    + "date-time with seconds and an offset (e.g. 2026-12-24T18:00:00Z or 2026-12-24T18:00:00+01:00), "
                    + "years 1970 to 9999.")
            }
            changes.dueDate = .some(due)
        case let other?:
            throw APIError.validation("due_date must be a date or date-time string, or null, not \(other.typeName).")
        }
        switch object["recurrence"] {
        case nil: break
        case .null?: changes.recurrence = .some(nil)
        case .object(let members)?: changes.recurrence = .some(try recurrence(members))
        case let other?:
            throw APIError.validation("recurrence must be an object like {\"frequency\": \"weekly\", \"interval\": 1} or null, "
                + "not \(other.typeName).")
        }
        return changes
    }

    private static func tags(_ values: [JSONValue]) throws(APIError) -> [String] {
        guard values.count <= TaskTags.maximumCount else {
            throw APIError.validation("tags holds at most \(TaskTags.maximumCount) tags (it has \(values.count)).")
        }
        var tags: [String] = []
        var keys: Set<String> = []
        for value in values {
            guard case .string(let raw) = value else {
                throw APIError.validation("each tag must be a string, not \(value.typeName).")
            }
            let tag = trimmingWhitespace(raw)
            let length = tag.unicodeScalars.count
            guard length >= 1, length <= TaskTags.maximumLength else {
                throw APIError.validation("each tag must be 1 to \(TaskTags.maximumLength) characters after trimming whitespace (one is \(length)).")
            }
            guard !TaskTags.hasControlCharacter(tag) else {
                throw APIError.validation("a tag must not contain control characters.")
            }
            guard keys.insert(TaskTags.key(tag)).inserted else {
                throw APIError.validation("tags must be unique ignoring case: \"\(tag.abbreviatedForMessage)\" is given twice.")
            }
            tags.append(tag)
        }
        return tags
    }

    private static func recurrence(_ members: [String: JSONValue]) throws(APIError) -> TaskRecurrence {
        guard case .string(let name)? = members["frequency"], let frequency = TaskRecurrence.Frequency(name: name) else {
            throw APIError.validation("recurrence.frequency must be daily, weekly, monthly or yearly.")
        }
        var interval: Int64 = 1
        switch members["interval"] {
        case nil, .null?: break
        case .number(let number)?:
            guard number == number.rounded(), number >= 1, number <= Double(TaskRecurrence.maximumInterval) else {
                throw APIError.validation("recurrence.interval must be an integer from 1 to \(TaskRecurrence.maximumInterval).")
            }
            interval = Int64(number)
        case let other?:
            throw APIError.validation("recurrence.interval must be an integer from 1 to \(TaskRecurrence.maximumInterval), not \(other.typeName).")
        }
        return TaskRecurrence(frequency: frequency, interval: interval)
    }

    private static func parseObject(_ body: [UInt8]) throws(APIError) -> [String: JSONValue] {
        guard String(validating: body, as: UTF8.self) != nil else {
            throw APIError.invalidJSON("The request body is not valid UTF-8.")
        }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: 32).parse(body)
        } catch {
            throw APIError.invalidJSON("The request body is not valid JSON: \(error.description).")
        }
        guard let object = value.objectValue else {
            throw APIError.invalidJSON("The request body must be a JSON object, not \(value.typeName).")
        }
        return object
    }

    /// Echoed read-only fields are ignored, but must still look like what the API sent.
    private static func checkReadOnlyFields(_ object: [String: JSONValue]) throws(APIError) {
        func isPositiveInteger(_ value: JSONValue) -> Bool {
            value.numberValue.map { $0 == $0.rounded() && $0 >= 1 } ?? false
        }
        if let id = object["id"], !isPositiveInteger(id) {
            throw APIError.validation("id, when sent back, must be a positive integer (it is ignored).")
        }
        if let version = object["version"], !isPositiveInteger(version) {
            throw APIError.validation("version, when sent back, must be a positive integer (it is ignored; use If-Match).")
        }
        if let next = object["next_task_id"], next != .null, !isPositiveInteger(next) {
            throw APIError.validation("next_task_id, when sent back, must be a positive integer or null (it is ignored).")
        }
        for name in ["user_id", "created_at", "updated_at", "uid"] {
            if let value = object[name], value.stringValue == nil {
                throw APIError.validation("\(name), when sent back, must be a string (it is ignored).")
            }
        }
        if let value = object["completed_at"], value != .null, value.stringValue == nil {
            throw APIError.validation("completed_at, when sent back, must be a string or null (it is ignored).")
        }
    }

    private static func optionalBoolean(_ object: [String: JSONValue], _ name: String) throws(APIError) -> Bool? {
        switch object[name] {
        case nil: return nil
        case .bool(let value)?: return value
        case let other?: throw APIError.validation("\(name) must be true or false, not \(other.typeName).")
        }
    }

    /// Removes leading and trailing Unicode White_Space.
    static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else {
            return ""
        }
        return String(scalars[start...last])
    }
}

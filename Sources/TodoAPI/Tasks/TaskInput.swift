import JSON

/// Validates request bodies into drafts. Every message names the field at fault.
public enum TaskInput {
    /// The longest title, in characters, after trimming.
    public static let maximumTitleLength = 200
    /// The longest description, in characters.
    public static let maximumDescriptionLength = 1000

    /// Fields of a Task that clients may echo back; they are ignored, never applied.
    private static let readOnlyFields: Set<String> = ["id", "user_id", "created_at", "updated_at"]

    /// Parses the body of POST or PUT.
    public static func draft(from body: [UInt8]) throws(APIError) -> TaskDraft {
        let object = try parseObject(body)
        try rejectUnknownFields(object, allowed: ["title", "description", "completed"])
        guard let titleValue = object["title"] else {
            throw APIError.validation("title is required.")
        }
        guard case .string(let rawTitle) = titleValue else {
            throw APIError.validation("title must be a string, not \(titleValue.typeName).")
        }
        let title = trimmingWhitespace(rawTitle)
        let titleLength = title.unicodeScalars.count
        guard titleLength >= 1, titleLength <= maximumTitleLength else {
            throw APIError.validation("title must be 1 to \(maximumTitleLength) characters after trimming whitespace (it is \(titleLength)).")
        }
        var description: String?
        switch object["description"] {
        case nil, .null?:
            description = nil
        case .string(let text)?:
            let length = text.unicodeScalars.count
            guard length <= maximumDescriptionLength else {
                throw APIError.validation("description must be at most \(maximumDescriptionLength) characters (it is \(length)).")
            }
            description = text
        case let other?:
            throw APIError.validation("description must be a string or null, not \(other.typeName).")
        }
        let completed = try optionalBoolean(object, "completed")
        return TaskDraft(title: title, description: description, completed: completed)
    }

    /// Parses the body of PATCH .../complete: `{"completed": bool}`.
    public static func completion(from body: [UInt8]) throws(APIError) -> Bool {
        let object = try parseObject(body)
        try rejectUnknownFields(object, allowed: ["completed"])
        guard let completed = try optionalBoolean(object, "completed") else {
            throw APIError.validation("completed is required (or send no body to toggle).")
        }
        return completed
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

    private static func rejectUnknownFields(_ object: [String: JSONValue], allowed: Set<String>) throws(APIError) {
        // Sorted so that the field named in the error does not depend on hash order.
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) && !readOnlyFields.contains($0) }) {
            throw APIError.unknownField(unknown)
        }
        // Echoed read-only fields are ignored, but must still look like what the API sent.
        if let id = object["id"], !(id.numberValue.map { $0 == $0.rounded() && $0 >= 1 } ?? false) {
            throw APIError.validation("id, when sent back, must be a positive integer (it is ignored).")
        }
        for name in ["user_id", "created_at", "updated_at"] {
            if let value = object[name], value.stringValue == nil {
                throw APIError.validation("\(name), when sent back, must be a string (it is ignored).")
            }
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

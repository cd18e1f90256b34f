/// A parsed JSON document: exactly what RFC 8259 allows, nothing looser.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A finite number; the parser rejects values that overflow a Double.
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members of an object; keys are unique because the parser rejects duplicates.
    case object([String: JSONValue])

    /// A short English name of the value's type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The members when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The string when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number when this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}

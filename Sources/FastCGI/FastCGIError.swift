/// A libfcgi call that failed, with the errno it left (when it said).
public struct FastCGIError: Error, Sendable, CustomStringConvertible {
    /// What the wrapper was doing.
    public let operation: String
    /// The libfcgi return code (usually `-errno`).
    public let code: Int32

    /// Creates an error for `operation` that returned `code`.
    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation) failed with code \(code)" }
}

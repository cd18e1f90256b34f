/// A storage failure in the application's terms. Every backend maps its own errors to these
/// inside the store, so the application turns exactly one error type into HTTP answers.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is: what the application (and an operator) can do about it.
    public enum Kind: Sendable, Equatable {
        /// The database cannot be used now (missing or replaced file, full disk, read-only,
        /// I/O error, lost connection); retrying later may work.
        case unavailable
        /// Another writer held the database longer than the busy timeout.
        case busy
        /// A uniqueness or integrity rule refused the write.
        case conflict
        /// The database is not one this build can serve (foreign, or a newer schema).
        case incompatible
        /// Anything else: a bug, or a failure with no better name.
        case `internal`
    }

    /// The kind of failure.
    public let kind: Kind
    /// The backend's own account of the failure, for logs and operators only (never sent to clients).
    public let message: String

    /// A failure of `kind`, explained by `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

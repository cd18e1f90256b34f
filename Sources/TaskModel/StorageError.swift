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
    /// The failure came before the operation could have had any effect (no connection to a
    /// server that takes writes could be made, or the server refused before anything was done):
    /// carrying it out again later has the same effect as carrying it out now. False when its
    /// effect is unknown (a connection lost while a commit was under way).
    public var nothingDone = false

    /// A failure of `kind`, explained by `message`.
    public init(_ kind: Kind, _ message: String, nothingDone: Bool = false) {
        self.kind = kind
        self.message = message
        self.nothingDone = nothingDone
    }

    public var description: String { message }
}

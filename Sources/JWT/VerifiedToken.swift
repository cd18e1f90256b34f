/// The claims of a verified token that the service relies on.
public struct VerifiedToken: Sendable, Equatable {
    /// The user id (`sub`).
    public let subject: String
    /// Expiry as seconds since the Unix epoch.
    public let expiresAt: Double

    /// Creates the verified claims.
    public init(subject: String, expiresAt: Double) {
        self.subject = subject
        self.expiresAt = expiresAt
    }
}

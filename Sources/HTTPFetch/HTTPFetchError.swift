/// A failed fetch: the URL, and curl's or the server's reason.
public struct HTTPFetchError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in one line.
    public let description: String
}

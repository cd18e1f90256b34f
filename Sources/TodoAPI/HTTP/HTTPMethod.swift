import TaskModel

/// A request method: the ones the API routes are named, any other is carried as sent (and
/// answered 405 with the route's `Allow`).
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The method token as the client sent it (methods are case-sensitive, RFC 9110 §9.1).
    public let rawValue: String

    /// The method named `rawValue`.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The method named by a literal, e.g. in tests.
    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public var description: String { rawValue }

    public static let get: HTTPMethod = "GET"
    public static let head: HTTPMethod = "HEAD"
    public static let post: HTTPMethod = "POST"
    public static let put: HTTPMethod = "PUT"
    public static let patch: HTTPMethod = "PATCH"
    public static let delete: HTTPMethod = "DELETE"
    public static let options: HTTPMethod = "OPTIONS"
    /// WebDAV (RFC 4918) and CalDAV (RFC 4791), on `/dav/` only.
    public static let propfind: HTTPMethod = "PROPFIND"
    public static let proppatch: HTTPMethod = "PROPPATCH"
    public static let report: HTTPMethod = "REPORT"

    /// GET and HEAD: they read and never change anything.
    public var isRead: Bool { self == .get || self == .head }
}

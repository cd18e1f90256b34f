import TaskModel

/// A request as the application sees it: already framed by the web server,
/// with only the parts the API uses. It knows nothing of FastCGI.
public struct HTTPRequest: Sendable {
    /// The largest body accepted, in bytes: the one limit the reader stops at and the
    /// application answers 413 above (nginx's `client_max_body_size 64k` matches it).
    public static let maximumBodySize = 65_536

    /// The request method, e.g. `GET`.
    public var method: HTTPMethod
    /// The raw, still percent-encoded path of the request target.
    public var path: [UInt8]
    /// The raw query string (after `?`), empty when there is none.
    public var query: [UInt8]
    /// The `Authorization` header value, if sent.
    public var authorization: [UInt8]?
    /// The `Content-Type` header value, if sent.
    public var contentType: String?
    /// The body length the client announced (`Content-Length`), if any.
    public var contentLength: Int?
    /// The body bytes, up to the body limit.
    public var body: [UInt8]
    /// True when the body is over `maximumBodySize`: announced so, or longer when read (then
    /// discarded). Decided here, when the request is made, and nowhere else.
    public private(set) var bodyExceededLimit: Bool
    /// The `Origin` header, sent by browsers on cross-origin requests.
    public var origin: String?
    /// The `Access-Control-Request-Method` header of a CORS preflight.
    public var accessControlRequestMethod: String?
    /// The `If-Match` header: the versions a write is conditional on.
    public var ifMatch: String?
    /// The `If-None-Match` header of a conditional read.
    public var ifNoneMatch: String?
    /// The `Idempotency-Key` header of a create (empty counts as absent: nginx passes an
    /// absent header as empty).
    public var idempotencyKey: String?
    /// The request id nginx passes (`X-Request-ID`, contract §12), if it keeps the rule.
    public var requestID: String?
    /// The `X-Consistency-Token` header of a read: the writes it must see (`ConsistencyToken`).
    public var consistencyToken: String?
    /// WebDAV's `Depth` header (`0`, `1`, `infinity`) of a PROPFIND or REPORT on `/dav/`.
    public var depth: String?

    /// Creates a request from its parts; `target` may carry a `?query`.
    public init(method: HTTPMethod, target: String, authorization: String? = nil, contentType: String? = nil,
                body: [UInt8] = [], bodyExceededLimit: Bool = false) {
        self.method = method
        (self.path, self.query) = Self.split(target: Array(target.utf8))
        self.authorization = authorization.map { Array($0.utf8) }
        self.contentType = contentType
        self.contentLength = body.isEmpty ? nil : body.count
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit || body.count > Self.maximumBodySize
            || (contentLength ?? 0) > Self.maximumBodySize
    }

    /// Creates a request from raw byte fields, as a gateway adapter does.
    public init(method: HTTPMethod, path: [UInt8], query: [UInt8], authorization: [UInt8]?, contentType: String?,
                contentLength: Int?, body: [UInt8], bodyExceededLimit: Bool) {
        self.method = method
        self.path = path
        self.query = query
        self.authorization = authorization
        self.contentType = contentType
        self.contentLength = contentLength
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit || body.count > Self.maximumBodySize
            || (contentLength ?? 0) > Self.maximumBodySize
    }

    /// A request target split at the first `?` into the raw path and the raw query.
    static func split(target: [UInt8]) -> (path: [UInt8], query: [UInt8]) {
        guard let mark = target.firstIndex(of: UInt8(ascii: "?")) else { return (target, []) }
        return (Array(target[..<mark]), Array(target[(mark + 1)...]))
    }

    /// Whether the client sent a body (announced or present).
    public var hasBody: Bool { !body.isEmpty || bodyExceededLimit || (contentLength ?? 0) > 0 }
}

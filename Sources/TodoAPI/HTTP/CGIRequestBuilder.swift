import APITables
import ASCII
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Builds an `HTTPRequest` from CGI/1.1 meta-variables (RFC 3875), which is
/// what FastCGI parameters are. The gateway passes the variables one by one.
public struct CGIRequestBuilder {
    private var method = ""
    private var requestURI: [UInt8] = []
    private var authorization: [UInt8]?
    private var contentType: String?
    private var contentLength: Int?
    private var origin: String?
    private var accessControlRequestMethod: String?
    private var ifMatch: String?
    private var ifNoneMatch: String?
    private var idempotencyKey: String?
    private var requestID: String?
    private var consistencyToken: String?
    private var depth: String?

    /// Creates an empty builder.
    public init() {}

    /// Records one meta-variable; unknown names are ignored.
    public mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        switch name.count {
        case 14 where Self.is(name, "REQUEST_METHOD"):
            method = String(decoding: value, as: UTF8.self)
        case 11 where Self.is(name, "REQUEST_URI"):
            requestURI = Array(value)
        case 18 where Self.is(name, "HTTP_AUTHORIZATION"):
            authorization = Array(value)
        case 12 where Self.is(name, "CONTENT_TYPE"):
            contentType = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 14 where Self.is(name, "CONTENT_LENGTH"):
            guard !value.isEmpty else { return }
            // A malformed length is treated as absent: the body is read to its end regardless.
            contentLength = Self.parseLength(value)
        case 11 where Self.is(name, "HTTP_ORIGIN"):
            origin = String(decoding: value, as: UTF8.self)
        case 34 where Self.is(name, "HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            accessControlRequestMethod = String(decoding: value, as: UTF8.self)
        case 13 where Self.is(name, "HTTP_IF_MATCH"):
            ifMatch = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 18 where Self.is(name, "HTTP_IF_NONE_MATCH"):
            ifNoneMatch = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 20 where Self.is(name, "HTTP_IDEMPOTENCY_KEY"):
            idempotencyKey = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 24 where Self.is(name, "HTTP_X_CONSISTENCY_TOKEN"):
            consistencyToken = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 10 where Self.is(name, "HTTP_DEPTH"):
            depth = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 17 where Self.is(name, "HTTP_X_REQUEST_ID"):
            // nginx passes only ids that keep the rule; anything else (another peer) is not logged.
            requestID = RequestID.isValid(value) ? String(decoding: value, as: UTF8.self) : nil
        default:
            break
        }
    }

    /// Whether `name` is `literal` (the caller has matched the length): one `memcmp`, where
    /// `elementsEqual` walked a String's UTF-8 view byte by byte, for each of some 30
    /// variables nginx sends with every request.
    private static func `is`(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        name.count == literal.utf8CodeUnitCount && (name.isEmpty || memcmp(name.baseAddress!, literal.utf8Start, name.count) == 0)
    }

    /// Convenience for tests and tools: records a meta-variable given as strings.
    public mutating func add(_ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { nameBytes in value.withUTF8 { valueBytes in add(name: nameBytes, value: valueBytes) } }
    }

    /// The body length announced by the web server, if any.
    public var announcedLength: Int? { contentLength }

    /// Finishes the request with its `body`.
    public func build(body: [UInt8], bodyExceededLimit: Bool) -> HTTPRequest {
        let target = HTTPRequest.split(target: requestURI)
        var request = HTTPRequest(method: HTTPMethod(rawValue: method), path: target.path, query: target.query,
                                  authorization: authorization,
                                  contentType: contentType,
                                  contentLength: contentLength,
                                  body: body,
                                  bodyExceededLimit: bodyExceededLimit)
        request.origin = origin
        request.accessControlRequestMethod = accessControlRequestMethod
        request.ifMatch = ifMatch
        request.ifNoneMatch = ifNoneMatch
        request.idempotencyKey = idempotencyKey
        request.requestID = requestID
        request.consistencyToken = consistencyToken
        request.depth = depth
        return request
    }

    private static func parseLength(_ value: UnsafeBufferPointer<UInt8>) -> Int? {
        ASCIIDecimal.parse(value).map { Int($0) }
    }
}

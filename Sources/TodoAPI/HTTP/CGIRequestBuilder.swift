import APITables
import ASCII
import TaskModel

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

    /// Creates an empty builder.
    public init() {}

    /// Records one meta-variable; unknown names are ignored.
    public mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        switch name.count {
        case 14 where name.elementsEqual("REQUEST_METHOD".utf8):
            method = String(decoding: value, as: UTF8.self)
        case 11 where name.elementsEqual("REQUEST_URI".utf8):
            requestURI = Array(value)
        case 18 where name.elementsEqual("HTTP_AUTHORIZATION".utf8):
            authorization = Array(value)
        case 12 where name.elementsEqual("CONTENT_TYPE".utf8):
            contentType = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 14 where name.elementsEqual("CONTENT_LENGTH".utf8):
            guard !value.isEmpty else { return }
            // A malformed length is treated as absent: the body is read to its end regardless.
            contentLength = Self.parseLength(value)
        case 11 where name.elementsEqual("HTTP_ORIGIN".utf8):
            origin = String(decoding: value, as: UTF8.self)
        case 34 where name.elementsEqual("HTTP_ACCESS_CONTROL_REQUEST_METHOD".utf8):
            accessControlRequestMethod = String(decoding: value, as: UTF8.self)
        case 13 where name.elementsEqual("HTTP_IF_MATCH".utf8):
            ifMatch = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 18 where name.elementsEqual("HTTP_IF_NONE_MATCH".utf8):
            ifNoneMatch = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 20 where name.elementsEqual("HTTP_IDEMPOTENCY_KEY".utf8):
            idempotencyKey = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case 17 where name.elementsEqual("HTTP_X_REQUEST_ID".utf8):
            // nginx passes only ids that keep the rule; anything else (another peer) is not logged.
            requestID = RequestID.isValid(value) ? String(decoding: value, as: UTF8.self) : nil
        default:
            break
        }
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
        return request
    }

    private static func parseLength(_ value: UnsafeBufferPointer<UInt8>) -> Int? {
        ASCIIDecimal.parse(value).map { Int($0) }
    }
}

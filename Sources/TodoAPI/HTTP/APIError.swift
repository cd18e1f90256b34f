import APITables
import JSON
import TaskModel

/// An error that knows its HTTP status and renders itself as
/// `{"detail": "...", "code": "..."}`. Every client-visible failure is one of these.
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status code.
    public let status: Int
    /// A stable machine-readable code, e.g. `task_not_found`.
    public let code: String
    /// A human sentence; never contains internals.
    public let detail: String
    /// Extra response headers (`Allow`, `WWW-Authenticate`, `Retry-After`).
    public var headers: [Header] = []
    /// For a refused token, why, as the metrics name it (`missing_token`, `expired`, …).
    public var authFailureReason: AuthFailureReason?

    /// A response header carried by an error.
    public struct Header: Sendable, Equatable {
        /// The header name.
        public let name: String
        /// The header value.
        public let value: String
    }

    /// Creates an error of `code` (its status from the code table) with `detail`.
    public init(_ code: ErrorCode, detail: String, headers: [Header] = []) {
        self.status = code.status
        self.code = code.rawValue
        self.detail = detail
        self.headers = headers
    }

    /// The response that reports this error to the client.
    public var response: HTTPResponse {
        var writer = JSONWriter(capacity: 64 + detail.utf8.count)
        writer.raw("{\"detail\":")
        writer.string(detail)
        writer.raw(",\"code\":")
        writer.string(code)
        writer.raw("}")
        return HTTPResponse(status: status, headers: headers.map { ($0.name, $0.value) }, body: writer.bytes)
    }
}

extension APIError {
    static let routeNotFound = APIError(.routeNotFound, detail: "No such route.")
    static let taskNotFound = APIError(.taskNotFound, detail: "No such task.")
    static let forbidden = APIError(.forbidden, detail: "The user id in the path does not match the authenticated user.")
    static let payloadTooLarge = APIError(.payloadTooLarge, detail: "The request body is larger than \(HTTPRequest.maximumBodySize) bytes.")
    static let unsupportedMediaType = APIError(.unsupportedMediaType, detail: "The request body must be JSON (Content-Type: application/json).")
    static let internalError = APIError(.internalError, detail: "An internal error occurred.")
    static let overloaded = APIError(.overloaded, detail: "The service is overloaded: the request waited too long for a worker. Retry shortly.",
                                     headers: [Header(name: "Retry-After", value: "1")])

    static let tooManyWaits = APIError(.tooManyWaits, detail: "This user already has as many requests waiting for changes as one "
        + "user may; end one (or sync without wait) and retry.", headers: [Header(name: "Retry-After", value: "5")])
    static let waitRoomFull = APIError(.waitRoomFull, detail: "Too many requests are waiting for changes on this worker; retry "
        + "shortly.", headers: [Header(name: "Retry-After", value: "2")])

    static func methodNotAllowed(_ allowed: [HTTPMethod]) -> APIError {
        APIError(.methodNotAllowed, detail: "Method not allowed on this path.",
                 headers: [Header(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))])
    }

    static func invalidJSON(_ detail: String) -> APIError {
        APIError(.invalidJSON, detail: detail)
    }

    static func validation(_ detail: String) -> APIError {
        APIError(.validationError, detail: detail)
    }

    static func invalidQuery(_ detail: String) -> APIError {
        APIError(.invalidQuery, detail: detail)
    }

    static let missingToken: APIError = {
        var error = APIError(.missingToken, detail: "A bearer token is required (Authorization: Bearer <JWT>).",
                             headers: [Header(name: "WWW-Authenticate", value: "Bearer")])
        error.authFailureReason = .missingToken
        return error
    }()

    static func invalidToken(_ reason: String, label: AuthFailureReason) -> APIError {
        var error = APIError(.invalidToken, detail: "Invalid token: \(reason).",
                             headers: [Header(name: "WWW-Authenticate",
                                              value: "Bearer error=\"invalid_token\", error_description=\"\(headerSafe(reason))\"")])
        error.authFailureReason = label
        return error
    }

    static func unavailable(_ detail: String) -> APIError {
        APIError(.serviceUnavailable, detail: detail,
                 headers: [Header(name: "Retry-After", value: "1")])
    }

    /// Keeps only characters allowed in a quoted `error_description` (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E).
    private static func headerSafe(_ text: String) -> String {
        String(decoding: text.utf8.filter { ($0 >= 0x20 && $0 <= 0x7E) && $0 != 0x22 && $0 != 0x5C }, as: UTF8.self)
    }
}

/// Every machine-readable error code of the API's JSON errors, with the status it is sent
/// with. `APIError` takes its status from here; a test holds every status to `HTTPStatus`.
public enum ErrorCode: String, CaseIterable, Sendable {
    case invalidJSON = "invalid_json"
    case validationError = "validation_error"
    case invalidQuery = "invalid_query"
    case invalidCursor = "invalid_cursor"
    case invalidIdempotencyKey = "invalid_idempotency_key"
    case missingToken = "missing_token"
    case invalidToken = "invalid_token"
    case forbidden
    case routeNotFound = "route_not_found"
    case taskNotFound = "task_not_found"
    case methodNotAllowed = "method_not_allowed"
    case idempotencyKeyInUse = "idempotency_key_in_use"
    case cursorExpired = "cursor_expired"
    case preconditionFailed = "precondition_failed"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case idempotencyKeyReused = "idempotency_key_reused"
    case internalError = "internal_error"
    case serviceUnavailable = "service_unavailable"
    case databaseUnavailable = "database_unavailable"
    case overloaded
    /// Live sync: this user already has their share of the process's waiting requests.
    case tooManyWaits = "too_many_waits"
    /// Live sync: the process holds as many waiting requests as it may.
    case waitRoomFull = "wait_room_full"
    /// The user has as many app passwords as one may (Addendum v2.2 §14.2).
    case tooManyAppPasswords = "too_many_app_passwords"
    /// No app password of this user has that id.
    case appPasswordNotFound = "app_password_not_found"

    /// The HTTP status this error is sent with.
    public var status: Int {
        switch self {
        case .invalidJSON, .validationError, .invalidQuery, .invalidCursor, .invalidIdempotencyKey: return 400
        case .missingToken, .invalidToken: return 401
        case .forbidden: return 403
        case .routeNotFound, .taskNotFound, .appPasswordNotFound: return 404
        case .methodNotAllowed: return 405
        case .idempotencyKeyInUse, .tooManyAppPasswords: return 409
        case .cursorExpired: return 410
        case .preconditionFailed: return 412
        case .payloadTooLarge: return 413
        case .unsupportedMediaType: return 415
        case .idempotencyKeyReused: return 422
        case .tooManyWaits: return 429
        case .internalError: return 500
        case .serviceUnavailable, .databaseUnavailable, .overloaded, .waitRoomFull: return 503
        }
    }
}

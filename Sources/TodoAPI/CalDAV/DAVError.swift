/// A refusal on `/dav/`: its status, this server's code, a detail for people, and the
/// precondition element RFC 4791 or RFC 6578 names for it, if any (raw XML, e.g.
/// `<C:valid-calendar-data/>`). Rendered by `DAVResponse.error`.
struct DAVError: Error {
    let status: Int
    let code: String
    let detail: String
    var precondition: String?
    var headers: [(name: String, value: String)] = []

    var response: HTTPResponse {
        DAVResponse.error(status: status, code: code, detail: detail, precondition: precondition, headers: headers)
    }

    static func badRequest(_ detail: String) -> DAVError { DAVError(status: 400, code: "bad_request", detail: detail) }
    static let notFound = DAVError(status: 404, code: "not_found", detail: "No such resource.")
    static let forbidden = DAVError(status: 403, code: "forbidden", detail: "This path belongs to another user.")
    static let tooLarge = DAVError(status: 413, code: "payload_too_large", detail: "The request body is larger than 65536 bytes.")
    static let preconditionFailed = DAVError(status: 412, code: "precondition_failed",
                                             detail: "If-Match or If-None-Match does not hold for the resource as it is.")

    static func methodNotAllowed(_ allowed: [String]) -> DAVError {
        DAVError(status: 405, code: "method_not_allowed", detail: "This method is not allowed here.",
                 headers: [("Allow", allowed.joined(separator: ", "))])
    }

    /// A precondition of RFC 4791 (`C:`) or RFC 4918/6578 (`D:`) that the request fails: 403.
    static func forbidden(_ precondition: String, _ detail: String, code: String = "forbidden") -> DAVError {
        DAVError(status: 403, code: code, detail: detail, precondition: precondition)
    }
}

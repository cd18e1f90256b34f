/// Every HTTP status the worker answers with, and its reason phrase: the status line, the
/// metrics labels and the error codes' statuses are all read from here.
public enum HTTPStatus {
    /// The statuses, in ascending order, with their RFC 9110 reason phrases.
    public static let produced: [(status: Int, reason: String)] = [
        (200, "OK"), (201, "Created"), (204, "No Content"), (207, "Multi-Status"), (301, "Moved Permanently"), (304, "Not Modified"),
        (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"),
        (405, "Method Not Allowed"), (409, "Conflict"), (410, "Gone"), (412, "Precondition Failed"),
        (413, "Content Too Large"), (415, "Unsupported Media Type"), (422, "Unprocessable Content"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"), (503, "Service Unavailable"),
    ]

    /// The standard reason phrase for `status` ("Unknown" for one not in `produced`).
    public static func reasonPhrase(_ status: Int) -> String {
        produced.first { $0.status == status }?.reason ?? "Unknown"
    }
}

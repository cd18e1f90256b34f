/// Which browser origins may call the API (CORS), and the headers that grant it.
///
/// The worker, not nginx, owns CORS: the allow-list is application configuration
/// (`TODO_CORS_ORIGINS`), the preflight answer depends on the route's methods, and keeping
/// it here makes it testable in-process and identical behind any nginx configuration.
public struct CORSPolicy: Sendable, Equatable {
    /// Exact origins (`scheme://host[:port]`) allowed; empty means CORS is off.
    public let allowedOrigins: Set<String>
    /// How long a browser may cache a preflight answer, in seconds.
    public let maxAgeSeconds = 600

    /// A policy allowing `allowedOrigins` (default none).
    public init(allowedOrigins: Set<String> = []) {
        self.allowedOrigins = allowedOrigins
    }

    /// Whether `origin` is on the list.
    public func allows(_ origin: String?) -> Bool {
        guard let origin else { return false }
        return allowedOrigins.contains(origin)
    }

    /// Adds the headers of an actual (non-preflight) response for `origin`.
    func decorate(_ response: inout HTTPResponse, origin: String?) {
        guard !allowedOrigins.isEmpty else { return }
        response.headers.append(("Vary", "Origin"))
        guard let origin, allows(origin) else { return }
        response.headers.append(("Access-Control-Allow-Origin", origin))
        response.headers.append(("Access-Control-Expose-Headers", "Location, X-Total-Count"))
    }

    /// The answer to a preflight for `route` from an allowed `origin`.
    func preflight(for route: Route, origin: String) -> HTTPResponse {
        HTTPResponse(status: 204, headers: [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", route.allowedMethods.joined(separator: ", ")),
            ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
            ("Access-Control-Max-Age", String(maxAgeSeconds)),
            ("Vary", "Origin"),
        ])
    }
}

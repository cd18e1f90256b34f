import APITables
import TodoAPI

/// `nginx-cors-map` and `nginx-maps`: the nginx maps written from the binary's own tables and
/// settings, so nginx's own answers agree with the worker's.
enum NginxCommands {
    /// `nginx-cors-map`: TODO_CORS_ORIGINS as the nginx maps that give nginx's own errors the worker's CORS headers.
    /// With `--env-file`, the origins come from that systemd environment file (the service's own).
    static func nginxCORSMap(_ settings: Settings) throws -> Int32 {
        let policy: CORSPolicy
        if let path = settings.value(.environmentFile) {
            do {
                policy = try CORSPolicy(list: try EnvironmentFile.read(path).values["TODO_CORS_ORIGINS"] ?? "")
            } catch let error as CORSOriginError {
                throw ConfigurationError("\(path): \(error.description)")
            }
        } else {
            policy = try settings.corsPolicy()
        }
        print(policy.nginxMap, terminator: "")
        return 0
    }

    /// `nginx-maps`: the Allow list of nginx's own 405 per route, and the X-Request-ID rule.
    static func maps(_ settings: Settings) throws -> Int32 {
        print(RouteKind.nginxAllowMap + "\n" + RequestID.nginxMap, terminator: "")
        return 0
    }
}

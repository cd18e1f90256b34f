import Clocks
import HTTPFetch
import JWT
import TodoAPI

#if canImport(Glibc)
import Glibc
import Serving
#endif

extension Settings {
    /// The shared secret and where it came from, first match wins: the systemd credential
    /// `$CREDENTIALS_DIRECTORY/better-auth-secret`, the file `BETTER_AUTH_SECRET_FILE`, then
    /// `BETTER_AUTH_SECRET`; nil when none is set. Files are read anew on every call, which is
    /// what SIGHUP relies on.
    func secret() throws(ConfigurationError) -> (value: String, source: String)? {
        if let directory = value(.credentialsDirectory) {
            let path = directory + "/better-auth-secret"
            if access(path, F_OK) == 0 { return (try Self.readSecretFile(path), "credential \(path)") }
        }
        if let path = value(.secretFile) {
            return (try Self.readSecretFile(path), "file \(path)")
        }
        return value(.secret).map { ($0, "environment") }
    }

    /// The `iss` and `aud` tokens must carry (and `token` writes): `JWT_ISSUER` / `JWT_AUDIENCE`,
    /// each defaulting to `BETTER_AUTH_URL`; nil accepts any.
    func issuerAndAudience() -> (issuer: String?, audience: String?) {
        let baseURL = value(.betterAuthURL)
        return (value(.issuer) ?? baseURL, value(.audience) ?? baseURL)
    }

    /// The JWT settings: the secret (at least 32 bytes), the JWKS, issuer and audience, and `JWT_LEEWAY` seconds.
    func jwtConfiguration() throws(ConfigurationError) -> JWTConfiguration {
        let secret = try self.secret()?.value
        let keys = try jwksStore(secretConfigured: secret != nil)
        guard secret != nil || keys != nil else {
            throw ConfigurationError("no token key: set BETTER_AUTH_SECRET (HS256, at least \(JWTConfiguration.minimumSecretLength) bytes), "
                + "or BETTER_AUTH_URL / BETTER_AUTH_JWKS_URL / BETTER_AUTH_JWKS_FILE for Better Auth's JWKS")
        }
        let (issuer, audience) = issuerAndAudience()
        let leeway = Double(try integer(.leeway))
        do {
            return try JWTConfiguration(secret: secret.map { Array($0.utf8) }, keys: keys, leewaySeconds: leeway,
                                        issuer: issuer, audience: audience)
        } catch {
            throw ConfigurationError("token settings: \(error.reason)")
        }
    }

    /// The JWKS, when one is configured: `BETTER_AUTH_JWKS_FILE`, or `BETTER_AUTH_JWKS_URL`, or
    /// `${BETTER_AUTH_URL}/api/auth/jwks` when `BETTER_AUTH_URL` is set and no secret is.
    /// The store is returned empty: `serve` and `check` load it.
    func jwksStore(secretConfigured: Bool) throws(ConfigurationError) -> JWKSKeyStore? {
        let interval = Double(try integer(.jwksRefreshInterval))
        let maximumAge = Double(try integer(.jwksMaximumAge))
        let log: @Sendable (Bool, String) -> Void = { isFailure, message in Log.write(isFailure ? .error : .notice, message) }
        let file = value(.jwksPath)
        var url = value(.jwksURL)
        if url == nil, file == nil, !secretConfigured, let base = value(.betterAuthURL) {
            url = String(base.reversed().drop { $0 == "/" }.reversed()) + "/api/auth/jwks"
        }
        switch (file, url) {
        case (.some, .some):
            throw ConfigurationError("set BETTER_AUTH_JWKS_FILE or BETTER_AUTH_JWKS_URL, not both")
        case (let path?, nil):
            return JWKSKeyStore(sourceDescription: "file \(path)", refreshInterval: interval, maximumAge: maximumAge,
                                clock: WallClock.seconds, log: log) {
                JWKSDocument(bytes: try Settings.readFile(path, limit: HTTPFetch.maximumBodySize))
            }
        case (nil, let address?):
            try Self.requireSecureJWKSURL(address)
            return JWKSKeyStore(sourceDescription: "URL \(address)", refreshInterval: interval, maximumAge: maximumAge,
                                clock: WallClock.seconds, log: log) {
                let response = try HTTPFetch.get(address)
                return JWKSDocument(bytes: response.body, maximumAgeSeconds: response.maximumAgeSeconds)
            }
        case (nil, nil):
            return nil
        }
    }

    /// A JWKS decides whose tokens are accepted, so it must not come over a channel a network
    /// attacker can rewrite: https, or http only to this machine (Better Auth in development).
    static func requireSecureJWKSURL(_ address: String) throws(ConfigurationError) {
        let lowered = address.lowercased()
        if lowered.hasPrefix("https://") { return }
        guard lowered.hasPrefix("http://") else {
            throw ConfigurationError("the JWKS URL must be https://, got \"\(address)\"")
        }
        var authority = lowered.dropFirst("http://".count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.dropFirst().prefix { $0 != "]" }
        } else {
            host = authority.prefix { $0 != ":" }
        }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        let isLoopbackIPv4 = inet_pton(AF_INET, String(host), &ipv4) == 1 && UInt32(bigEndian: ipv4.s_addr) >> 24 == 127
        let isLoopbackIPv6 = inet_pton(AF_INET6, String(host), &ipv6) == 1
            && withUnsafeBytes(of: &ipv6) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
        guard host == "localhost" || isLoopbackIPv4 || isLoopbackIPv6 else {
            throw ConfigurationError("the JWKS URL \(address) is plain http to another host: a network attacker could "
                + "replace the keys and sign tokens for any user; use https (http is accepted for localhost only)")
        }
    }
}

import JSON

/// Checks registered claims (RFC 7519 §4.1) of a payload whose signature is already verified.
struct ClaimsValidator {
    let configuration: JWTConfiguration
    let now: Double

    func validate(_ claims: [String: JSONValue]) throws(JWTError) -> VerifiedToken {
        let leeway = configuration.leewaySeconds
        guard let expiry = try number(claims, "exp") else {
            throw JWTError(.invalidClaim, "token has no exp claim")
        }
        guard now <= expiry + leeway else {
            throw JWTError(.expired, "token expired")
        }
        if let notBefore = try number(claims, "nbf"), now + leeway < notBefore {
            throw JWTError(.notYetValid, "token is not valid yet (nbf)")
        }
        if let issuedAt = try number(claims, "iat"), now + leeway < issuedAt {
            throw JWTError(.notYetValid, "token was issued in the future (iat)")
        }
        guard case .string(let subject)? = claims["sub"] else {
            throw JWTError(.invalidClaim, "token sub claim must be a string")
        }
        guard !subject.isEmpty else {
            throw JWTError(.invalidClaim, "token sub claim is empty")
        }
        // The subject is the owner every query filters by: one no database stores whole (a
        // C string or PostgreSQL text ends at U+0000) could name another user's rows.
        guard !subject.utf8.contains(0) else {
            throw JWTError(.invalidClaim, "token sub claim contains U+0000")
        }
        if let issuer = configuration.issuer {
            guard case .string(let claimed)? = claims["iss"], claimed == issuer else {
                throw JWTError(.issuerMismatch, "issuer mismatch")
            }
        }
        if let audience = configuration.audience {
            guard audienceContains(claims["aud"], audience) else {
                throw JWTError(.audienceMismatch, "audience mismatch")
            }
        }
        return VerifiedToken(subject: subject, expiresAt: expiry)
    }

    private func number(_ claims: [String: JSONValue], _ name: String) throws(JWTError) -> Double? {
        guard let value = claims[name] else { return nil }
        guard let number = value.numberValue else {
            throw JWTError(.invalidClaim, "token \(name) claim must be a number")
        }
        return number
    }

    private func audienceContains(_ value: JSONValue?, _ audience: String) -> Bool {
        switch value {
        case .string(let single)?: return single == audience
        case .array(let list)?: return list.contains(.string(audience))
        default: return false
        }
    }
}

import JSON

/// The registered claims this service's tools put in the tokens they mint.
public enum TokenClaims {
    /// `{"sub", "iat", "exp", "iss"?, "aud"?}` as JSON. With `betterAuthUserFields`, the user
    /// fields Better Auth's JWT plugin adds (`id`, `name`, `emailVerified`) come first.
    public static func json(subject: String, issuedAt: Int64, lifetime: Int64, issuer: String?, audience: String?,
                            betterAuthUserFields: Bool = false) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{")
        if betterAuthUserFields {
            writer.raw("\"id\":")
            writer.string(subject)
            writer.raw(",\"name\":")
            writer.string(subject)
            writer.raw(",\"emailVerified\":false,")
        }
        writer.raw("\"sub\":")
        writer.string(subject)
        writer.raw(",\"iat\":")
        writer.integer(issuedAt)
        writer.raw(",\"exp\":")
        writer.integer(issuedAt + lifetime)
        if let issuer {
            writer.raw(",\"iss\":")
            writer.string(issuer)
        }
        if let audience {
            writer.raw(",\"aud\":")
            writer.string(audience)
        }
        writer.raw("}")
        return writer.bytes
    }
}

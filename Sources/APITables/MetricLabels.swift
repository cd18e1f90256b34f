/// Why a token was refused, as `/metrics` labels it (`todo_auth_failures_total{reason}`): RFC
/// 6750's error descriptions as the API names them. The metrics layout, the authenticator and
/// the API's errors all use this one table, so a reason can never fall into the catch-all
/// by a spelling that drifted.
public enum AuthFailureReason: String, CaseIterable, Sendable {
    case missingToken = "missing_token"
    case malformed
    case unsupportedAlgorithm = "unsupported_algorithm"
    case badSignature = "bad_signature"
    case unknownKeyID = "unknown_key_id"
    case expired
    case notYetValid = "not_yet_valid"
    case invalidClaim = "invalid_claim"
    case issuerMismatch = "issuer_mismatch"
    case audienceMismatch = "audience_mismatch"
    /// Basic credentials on `/dav/` that are no app password of the user they name.
    case appPassword = "app_password"
    /// Any other refusal (an internal failure while verifying).
    case other
}

/// The kind of storage failure a request met, as `/metrics` labels it
/// (`todo_storage_errors_total{kind}`): the storage layer's kinds, one for one.
public enum StorageFailureKind: String, CaseIterable, Sendable {
    /// The database cannot be used now; retrying later may work.
    case unavailable
    /// Another writer held the database longer than the busy timeout.
    case busy
    /// A uniqueness or integrity rule refused the write.
    case conflict
    /// The database is not one this build can serve.
    case incompatible
    /// Anything else.
    case `internal`
}

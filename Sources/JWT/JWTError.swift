/// Why a token was not accepted. `reason` is safe to show to the client
/// (it goes into `error_description`): it never echoes token content.
public struct JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The classes of rejection.
    public enum Kind: Sendable, Equatable {
        /// Not three canonical base64url segments of JSON objects, or too large.
        case malformed
        /// The header names an algorithm other than the configured key's, or asks for features never honoured.
        case unsupportedAlgorithm
        /// The signature does not match.
        case badSignature
        /// The `kid` names no key this service knows, even after refreshing the JWKS.
        case unknownKey
        /// `exp` has passed (beyond the leeway).
        case expired
        /// `nbf` or `iat` lies in the future (beyond the leeway).
        case notYetValid
        /// A claim is missing or has the wrong type.
        case invalidClaim
        /// `iss` is not the configured issuer.
        case issuerMismatch
        /// `aud` does not contain the configured audience.
        case audienceMismatch
        /// The crypto library failed; not the client's fault.
        case internalFailure
    }

    /// The class of rejection.
    public let kind: Kind
    /// A short sentence for `error_description`.
    public let reason: String

    /// Creates an error of `kind` explained by `reason`.
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}

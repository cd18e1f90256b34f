/// Supplies verification keys; the verifier asks it for every asymmetric token.
public protocol KeyProvider: Sendable {
    /// The key for `keyID`, or nil when it is (still) unknown.
    func key(for keyID: String) -> PublicKey?
    /// The keys a token without `kid` signed with `algorithm` may be verified with (empty: none).
    func keys(accepting algorithm: SignatureAlgorithm) -> [PublicKey]
}

import JSON

/// Verifies HS256 JWTs (RFC 7519) the way RFC 8725 recommends.
///
/// The configured key decides the algorithm: the header's `alg` must match it
/// and never selects it. The signature is checked, in constant time, before
/// the payload is decoded; claims are checked after. Not Sendable: it owns a
/// keyed MAC context, so each worker thread builds its own.
public final class JWTVerifier {
    /// The configuration this verifier enforces.
    public let configuration: JWTConfiguration
    private let mac: HMACSHA256
    private let parser = JSONParser(maximumDepth: 8)

    /// Header members that ask the verifier to fetch or trust a key from the token itself, or to understand extensions.
    private static let refusedHeaderMembers = ["crit", "jku", "jwk", "x5u", "x5c"]

    /// Creates a verifier for `configuration`.
    public init(configuration: JWTConfiguration) throws(CryptoError) {
        self.configuration = configuration
        self.mac = try HMACSHA256(key: configuration.secret)
    }

    /// Verifies `token` at time `now` (seconds since the epoch) and returns its subject.
    public func verify(_ token: some Collection<UInt8>, now: Double) throws(JWTError) -> VerifiedToken {
        guard token.count <= JWTConfiguration.maximumTokenLength else {
            throw JWTError(.malformed, "token is longer than \(JWTConfiguration.maximumTokenLength) bytes")
        }
        let bytes = Array(token)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw JWTError(.malformed, "token must have three dot-separated segments")
        }
        let headerPart = bytes[..<dots[0]]
        let payloadPart = bytes[(dots[0] + 1)..<dots[1]]
        let signaturePart = bytes[(dots[1] + 1)...]

        let header = try decodeObject(headerPart, segment: "header")
        guard case .string("HS256")? = header["alg"] else {
            throw JWTError(.unsupportedAlgorithm, "token algorithm must be HS256")
        }
        if let refused = Self.refusedHeaderMembers.first(where: { header[$0] != nil }) {
            throw JWTError(.unsupportedAlgorithm, "token header member \(refused) is not supported")
        }

        guard let signature = Base64URL.decode(signaturePart), signature.count == HMACSHA256.byteCount else {
            throw JWTError(.malformed, "token signature is not canonical base64url of 32 bytes")
        }
        let computed = bytes.withUnsafeBytes { raw in
            Result { () throws(CryptoError) in try mac.authenticationCode(for: UnsafeRawBufferPointer(rebasing: raw[..<dots[1]])) }
        }
        guard case .success(let expected) = computed else {
            throw JWTError(.internalFailure, "signature check failed")
        }
        guard ConstantTime.equal(expected, signature) else {
            throw JWTError(.badSignature, "token signature does not match")
        }

        let claims = try decodeObject(payloadPart, segment: "payload")
        return try ClaimsValidator(configuration: configuration, now: now).validate(claims)
    }

    private func decodeObject(_ segment: ArraySlice<UInt8>, segment name: String) throws(JWTError) -> [String: JSONValue] {
        guard let decoded = Base64URL.decode(segment) else {
            throw JWTError(.malformed, "token \(name) is not canonical base64url")
        }
        let value: JSONValue
        do {
            value = try parser.parse(decoded)
        } catch {
            throw JWTError(.malformed, "token \(name) is not valid JSON")
        }
        guard let object = value.objectValue else {
            throw JWTError(.malformed, "token \(name) is not a JSON object")
        }
        return object
    }
}

import Crypto
import JSON

/// Verifies JWTs (RFC 7519) the way RFC 8725 recommends: HS256 with the shared secret,
/// and EdDSA, ES256, ES512, RS256, PS256 with keys from a JWKS, picked by `kid` (a token without
/// `kid` is tried against the keys whose type fits its `alg`).
///
/// The configured key decides the algorithm: the header's `alg` must be one the key
/// accepts, and never selects a key or a key type. HS256 is verified only with the
/// configured secret, never with public key bytes. The signature is checked (HMACs in
/// constant time) before the payload is decoded; claims are checked after. Not Sendable:
/// it owns a keyed MAC context, so each worker thread builds its own.
public final class JWTVerifier {
    /// The configuration this verifier enforces.
    public let configuration: JWTConfiguration
    private let mac: HMACSHA256?
    private let parser = JSONParser(maximumDepth: 8)

    /// Header members that ask the verifier to fetch or trust a key from the token itself, or to understand extensions.
    private static let refusedHeaderMembers = ["crit", "jku", "jwk", "x5u", "x5c"]

    /// Creates a verifier for `configuration`.
    public init(configuration: JWTConfiguration) throws(CryptoError) {
        self.configuration = configuration
        self.mac = try configuration.secret.map { (secret) throws(CryptoError) in try HMACSHA256(key: secret) }
    }

    /// Verifies `token` at `nowSeconds` (seconds since the epoch) and returns its subject.
    public func verify(_ token: some Collection<UInt8>, nowSeconds now: Double) throws(JWTError) -> VerifiedToken {
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
        if let refused = Self.refusedHeaderMembers.first(where: { header[$0] != nil }) {
            throw JWTError(.unsupportedAlgorithm, "token header member \(refused) is not supported")
        }
        guard case .string(let name)? = header["alg"], let algorithm = SignatureAlgorithm(headerValue: name) else {
            throw JWTError(.unsupportedAlgorithm, "token algorithm is not supported (HS256, EdDSA, ES256, ES512, RS256, PS256 are)")
        }
        guard let signature = Base64URL.decode(signaturePart) else {
            throw JWTError(.malformed, "token signature is not canonical base64url")
        }
        let signedPart = dots[1]
        if algorithm == .hs256 {
            try verifyHMAC(signature: signature, bytes: bytes, signedLength: signedPart)
        } else {
            try verifyAsymmetric(algorithm: algorithm, header: header, signature: signature, bytes: bytes, signedLength: signedPart)
        }

        let claims = try decodeObject(payloadPart, segment: "payload")
        return try ClaimsValidator(configuration: configuration, now: now).validate(claims)
    }

    private func verifyHMAC(signature: [UInt8], bytes: [UInt8], signedLength: Int) throws(JWTError) {
        guard let mac else {
            throw JWTError(.unsupportedAlgorithm, "token signed with HS256 but no shared secret is configured")
        }
        guard signature.count == HMACSHA256.byteCount else {
            throw JWTError(.malformed, "token signature is not 32 bytes")
        }
        let computed = bytes.withUnsafeBytes { raw in
            Result { () throws(CryptoError) in try mac.authenticationCode(for: UnsafeRawBufferPointer(rebasing: raw[..<signedLength])) }
        }
        guard case .success(let expected) = computed else {
            throw JWTError(.internalFailure, "signature check failed")
        }
        guard ConstantTime.equal(expected, signature) else {
            throw JWTError(.badSignature, "token signature does not match")
        }
    }

    private func verifyAsymmetric(algorithm: SignatureAlgorithm, header: [String: JSONValue], signature: [UInt8],
                                  bytes: [UInt8], signedLength: Int) throws(JWTError) {
        guard let keys = configuration.keys else {
            throw JWTError(.unsupportedAlgorithm, "token signed with \(algorithm.rawValue) but no JWKS is configured")
        }
        let message = { (raw: UnsafeRawBufferPointer) in UnsafeRawBufferPointer(rebasing: raw[..<signedLength]) }
        switch header["kid"] {
        case .string(let keyID)? where !keyID.isEmpty:
            guard let key = keys.key(for: keyID) else {
                throw JWTError(.unknownKey, "unknown key id")
            }
            guard key.accepts(algorithm) else {
                throw JWTError(.unsupportedAlgorithm, "token algorithm \(algorithm.rawValue) does not match its key (\(key.summary))")
            }
            let valid = bytes.withUnsafeBytes { key.verify(signature: signature, message: message($0), algorithm: algorithm) }
            guard valid else {
                throw JWTError(.badSignature, "token signature does not match")
            }
        case nil:
            // No kid (Better Auth with generateId: false): each key whose type fits alg, at most
            // the keys in the set, as jose does. The header's alg still never picks a key type.
            let candidates = keys.keys(accepting: algorithm)
            guard !candidates.isEmpty else {
                throw JWTError(.unknownKey, "no key for \(algorithm.rawValue) tokens without a key id")
            }
            let valid = bytes.withUnsafeBytes { raw in
                candidates.contains { $0.verify(signature: signature, message: message(raw), algorithm: algorithm) }
            }
            guard valid else {
                throw JWTError(.badSignature, "token signature does not match")
            }
        default:
            throw JWTError(.malformed, "token header kid is not a non-empty string")
        }
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

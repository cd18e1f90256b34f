import Crypto
import JSON

extension Ed25519SigningKey {
    /// Signs a compact JWS with the header `{"alg":"EdDSA","kid":...}`, as Better Auth's JWT plugin does.
    public func signToken(payloadJSON: [UInt8], keyID: String) throws(CryptoError) -> String {
        var header = JSONWriter()
        header.raw("{\"alg\":\"EdDSA\",\"kid\":")
        header.string(keyID)
        header.raw("}")
        let signingInput = Base64URL.encode(header.bytes) + "." + Base64URL.encode(payloadJSON)
        return signingInput + "." + Base64URL.encode(try sign(Array(signingInput.utf8)))
    }
}

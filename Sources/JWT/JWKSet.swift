import JSON

/// The keys of a JWKS document (RFC 7517 §5).
public struct JWKSet: Sendable {
    /// Usable keys that have a `kid`, by `kid`.
    public let keys: [String: PublicKey]
    /// Every usable key in document order, with or without a `kid`: a token without `kid` is
    /// tried against the ones whose type fits its `alg` (as jose, Better Auth's verifier, does).
    public let allKeys: [PublicKey]
    /// The `kid` of each entry of `allKeys` (nil when the key has none), for messages.
    public let keyIDs: [String?]
    /// Keys that were skipped, with the reason (reported by `todo-fcgi check`).
    public let skipped: [String]

    /// An empty set.
    public init() {
        keys = [:]
        allKeys = []
        keyIDs = []
        skipped = []
    }

    /// Parses `{"keys":[...]}`. Unusable keys are skipped, not fatal: one odd key must not
    /// take the others down. A document that is not a JWKS at all is an error.
    public init(json: [UInt8]) throws(KeyError) {
        let document: JSONValue
        do {
            document = try JSONParser(maximumDepth: 8).parse(json)
        } catch {
            throw KeyError("JWKS is not valid JSON: \(error.description)")
        }
        guard case .array(let entries)? = document.objectValue?["keys"] else {
            throw KeyError("JWKS has no \"keys\" array")
        }
        var keys: [String: PublicKey] = [:]
        var allKeys: [PublicKey] = []
        var keyIDs: [String?] = []
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let jwk = entry.objectValue else {
                skipped.append("key \(index): not an object")
                continue
            }
            var keyID: String?
            switch jwk["kid"] {
            case nil:
                keyID = nil
            case .string(let kid)? where !kid.isEmpty:
                keyID = kid
            default:
                skipped.append("key \(index): kid is not a non-empty string")
                continue
            }
            do {
                let key = try PublicKey(jwk: jwk)
                if let keyID, keys.updateValue(key, forKey: keyID) != nil {
                    skipped.append("key \(keyID): duplicate kid, the last one is used")
                    if let earlier = keyIDs.firstIndex(of: keyID) {
                        allKeys.remove(at: earlier)
                        keyIDs.remove(at: earlier)
                    }
                }
                allKeys.append(key)
                keyIDs.append(keyID)
            } catch {
                skipped.append("key \(keyID ?? String(index)): \(error.description)")
            }
        }
        self.keys = keys
        self.allKeys = allKeys
        self.keyIDs = keyIDs
        self.skipped = skipped
    }

    /// The keys a token without `kid` signed with `algorithm` may be verified with.
    public func keys(accepting algorithm: SignatureAlgorithm) -> [PublicKey] {
        allKeys.filter { $0.accepts(algorithm) }
    }

    /// One line for logs and `check`: each key's id and type, and what was skipped.
    public var description: String {
        let named = zip(keyIDs, allKeys).map { kid, key in
            "\(kid ?? "(no kid)") (\(key.summary)\(key.pinnedAlgorithm.map { ", " + $0.rawValue } ?? ""))"
        }
        let skippedText = skipped.isEmpty ? "" : "; skipped: " + skipped.joined(separator: "; ")
        return "\(allKeys.count) keys: \(named.joined(separator: ", "))\(skippedText)"
    }
}

import APITables
import ASCII
import Crypto
import JWT
import TaskModel

/// Who a `/dav/` request is (Addendum v2.2 §14.2): a Bearer JWT, verified as on `/api/`, or
/// Basic with a user id and one of that user's app passwords, read from the database on every
/// request (a deleted password fails at once, on every host) and compared in constant time.
extension TodoApplication {
    /// The challenges of a 401 on `/dav/`: native apps answer the Basic one.
    static let davChallenges: [(name: String, value: String)] = [
        ("WWW-Authenticate", "Basic realm=\"todo-fcgi\", charset=\"UTF-8\""),
        ("WWW-Authenticate", "Bearer realm=\"todo-fcgi\""),
    ]

    func authenticateDAV(_ request: HTTPRequest, _ reply: inout Reply) throws -> AuthenticatedUser {
        guard let header = request.authorization, !header.isEmpty else {
            reply.authFailureReason = .missingToken
            throw DAVError(status: 401, code: "missing_token",
                           detail: "Sign in with your user id and an app password, or a Bearer token.", headers: Self.davChallenges)
        }
        if let (user, password) = Self.basicCredentials(header) {
            guard let owner = try appPasswordOwner(user: user, password: password) else {
                reply.authFailureReason = .appPassword
                throw DAVError(status: 401, code: "invalid_credentials", detail: "The user id or app password is not valid.",
                               headers: Self.davChallenges)
            }
            return owner
        }
        do {
            return try authenticator.authenticate(authorization: header)
        } catch {
            reply.authFailureReason = error.authFailureReason ?? .other
            throw DAVError(status: 401, code: error.code, detail: error.detail, headers: Self.davChallenges)
        }
    }

    /// The user whose app password `password` is, when `user` names them; nil otherwise.
    /// Every stored digest of the user is compared, each in constant time.
    private func appPasswordOwner(user: String, password: [UInt8]) throws -> AuthenticatedUser? {
        guard password.starts(with: Self.appPasswordPrefix.utf8) else { return nil }
        let digest = Array(ASCIIHex.encode(try SHA256.hash(password)).utf8)
        var matched: AppPasswordDigest?
        for stored in try store.appPasswordDigests(userID: user) where ConstantTime.equal(Array(stored.digest.utf8), digest) {
            matched = stored
        }
        guard let matched else { return nil }
        let now = now()
        if (matched.lastUsedAt ?? Int64.min) < now - AppPassword.lastUseGranularity {
            // A failed record is no reason to refuse the request: the next one tries again.
            do {
                try store.recordAppPasswordUse(userID: user, id: matched.id, now: now)
            } catch {
                log("could not record an app password's use: \(error)")
            }
        }
        return AuthenticatedUser(id: user)
    }

    /// The user id and password of `Basic <base64(user:password)>` (scheme case-insensitive);
    /// nil for any other scheme or a malformed value.
    static func basicCredentials(_ header: [UInt8]) -> (user: String, password: [UInt8])? {
        let scheme = "basic ".utf8
        guard header.count > scheme.count, zip(header.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) else {
            return nil
        }
        var encoded = Array(header[scheme.count...]).filter { $0 != UInt8(ascii: " ") }
        while encoded.last == UInt8(ascii: "=") { encoded.removeLast() }
        // Base64 (RFC 4648 §4) read through the URL-safe alphabet's decoder.
        let urlSafe = encoded.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
        guard let decoded = Base64URL.decode(urlSafe), let colon = decoded.firstIndex(of: UInt8(ascii: ":")), colon > 0,
              let user = String(validating: decoded[..<colon], as: UTF8.self) else { return nil }
        return (user, Array(decoded[(colon + 1)...]))
    }
}

import ASCII
import Crypto
import JSON
import JWT
import TaskModel

/// `/api/{user_id}/app-passwords` (Addendum v2.2 §14.2): the passwords native CalDAV apps sign
/// in with, managed with a JWT only (an app password never opens `/api/`). The password is
/// shown once, in the create's answer; only its SHA-256 is stored.
extension TodoApplication {
    /// The longest name, in characters, after trimming.
    static let maximumAppPasswordNameLength = 100
    /// What every app password starts with, so scanners and people can tell one.
    static let appPasswordPrefix = "todo_"
    /// Random bytes in a password: 192 bits, over the 128 the contract asks.
    static let appPasswordRandomBytes = 24

    func handleAppPasswords(_ request: HTTPRequest, user: AuthenticatedUser, resource: Route.TaskResource) throws -> HTTPResponse {
        switch (resource, request.method) {
        case (.appPassword(let rawID), _):
            guard let id = TaskID.parse(rawID), try store.deleteAppPassword(userID: user.id, id: id) else {
                throw APIError(.appPasswordNotFound, detail: "No such app password.")
            }
            return HTTPResponse(status: 204)
        case (_, .post):
            let name = try Self.appPasswordName(requireBody(request))
            let password = try Self.newAppPassword()
            switch try store.createAppPassword(userID: user.id, name: name, digest: Self.digest(of: password), now: now()) {
            case .tooMany:
                throw APIError(.tooManyAppPasswords, detail: "A user has at most \(AppPassword.maximumPerUser) app passwords; "
                    + "delete one first.")
            case .created(let created):
                var writer = JSONWriter(capacity: 256)
                Self.write(created, password: password, to: &writer)
                var response = json(201, writer.bytes)
                response.headers.append(("Cache-Control", "no-store"))
                return response
            }
        default:
            let passwords = try store.appPasswords(userID: user.id)
            var writer = JSONWriter(capacity: 32 + passwords.count * 128)
            writer.raw("[")
            for (index, password) in passwords.enumerated() {
                if index > 0 { writer.raw(",") }
                Self.write(password, password: nil, to: &writer)
            }
            writer.raw("]")
            return json(200, writer.bytes)
        }
    }

    /// `{"name": "…"}`: 1…100 characters after trimming, no control characters.
    static func appPasswordName(_ body: [UInt8]) throws(APIError) -> String {
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: 8).parse(body)
        } catch {
            throw APIError.invalidJSON("The request body is not valid JSON: \(error.description).")
        }
        guard case .object(let object) = value else { throw APIError.invalidJSON("The request body must be a JSON object.") }
        guard case .string(let raw)? = object["name"] else { throw APIError.validation("name is required, a string.") }
        let name = TaskInput.trimmingWhitespace(raw)
        let length = name.unicodeScalars.count
        guard length >= 1, length <= maximumAppPasswordNameLength else {
            throw APIError.validation("name must be 1 to \(maximumAppPasswordNameLength) characters after trimming whitespace (it is \(length)).")
        }
        guard !TaskTags.hasControlCharacter(name) else { throw APIError.validation("name must not contain control characters.") }
        return name
    }

    /// A new password: the prefix and 192 random bits, base64url.
    static func newAppPassword() throws -> String {
        appPasswordPrefix + Base64URL.encode(try SecureRandom.bytes(count: appPasswordRandomBytes))
    }

    /// The stored form of `password`: its SHA-256, lower-case hex. A fast hash is enough for a
    /// random 192-bit secret (nothing to guess), as for API tokens generally.
    static func digest(of password: String) throws -> String {
        ASCIIHex.encode(try SHA256.hash(password.utf8))
    }

    /// One app password as JSON, with `password` only in a create's answer.
    static func write(_ appPassword: AppPassword, password: String?, to writer: inout JSONWriter) {
        writer.raw("{\"id\":")
        writer.integer(appPassword.id)
        writer.raw(",\"name\":")
        writer.string(appPassword.name)
        writer.raw(",\"created_at\":")
        writer.unescapedString(maximumBytes: Timestamp.byteCount) { Timestamp.write(milliseconds: appPassword.createdAt, into: $0) }
        writer.raw(",\"last_used_at\":")
        if let used = appPassword.lastUsedAt {
            writer.unescapedString(maximumBytes: Timestamp.byteCount) { Timestamp.write(milliseconds: used, into: $0) }
        } else {
            writer.null()
        }
        if let password {
            writer.raw(",\"password\":")
            writer.string(password)
        }
        writer.raw("}")
    }
}

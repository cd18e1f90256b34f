import Clocks
import Crypto
import JSON
import JWT
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// `token` and `keygen`: tokens and keys shaped like Better Auth's, for development and tests.
enum KeyCommands {
    static func token(_ settings: Settings) throws -> Int32 {
        guard let subject = settings.value(.subject), !subject.isEmpty else {
            throw ConfigurationError("token needs --sub USER_ID")
        }
        let lifetime = Int64(try settings.integer(.lifetime))
        let now = Int64(WallClock.seconds())
        let (issuer, audience) = settings.issuerAndAudience()
        if let keyPath = settings.value(.signingKey) {
            let jwk: Ed25519JWK
            do {
                jwk = try Ed25519JWK(privateJWK: try Settings.readFile(keyPath, limit: 65536))
            } catch let error as KeyError {
                throw ConfigurationError("\(keyPath) is not an Ed25519 private JWK with d and kid (see `todo-fcgi keygen`): \(error.description)")
            }
            // The claims Better Auth's JWT plugin puts in its tokens, user fields included.
            let payload = TokenClaims.json(subject: subject, issuedAt: now, lifetime: lifetime, issuer: issuer,
                                           audience: audience, betterAuthUserFields: true)
            print(try jwk.key.signToken(payloadJSON: payload, keyID: jwk.keyID))
            return 0
        }
        guard let secret = try settings.secret()?.value else {
            throw ConfigurationError("token needs BETTER_AUTH_SECRET (HS256) or --key PRIVATE_JWK (EdDSA)")
        }
        _ = try settings.jwtConfiguration()  // the same validation as the server's
        print(try JWTSigner(secret: Array(secret.utf8)).sign(subject: subject, issuedAt: now, lifetime: lifetime,
                                                             issuer: issuer, audience: audience))
        return 0
    }

    static func keygen(_ settings: Settings) throws -> Int32 {
        guard let privatePath = settings.value(.privateKeyFile), let jwksPath = settings.value(.jwksFile) else {
            throw ConfigurationError("keygen needs --private-key FILE and --jwks FILE")
        }
        let jwk = Ed25519JWK(key: try Ed25519SigningKey(),
                             keyID: try settings.value(.keyID) ?? Base64URL.encode(SecureRandom.bytes(count: 12)))
        let force = settings.isSet(.force)
        try writeNewFile(privatePath, try jwk.privateJWK() + [UInt8(ascii: "\n")], mode: 0o600, replacing: force)
        try writeNewFile(jwksPath, try jwk.jwks() + [UInt8(ascii: "\n")], mode: 0o644, replacing: force)
        print("wrote the Ed25519 private key \(privatePath) and the JWKS \(jwksPath) (kid \(jwk.keyID))")
        return 0
    }

    /// Writes a file that did not exist, created with its final mode (never wider for a moment)
    /// and never through a symbolic link. With `replacing`, an existing path is replaced
    /// atomically: the bytes go to a new file beside it, which is then renamed over the path
    /// (a link at the path is replaced itself; its target is never written).
    private static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t, replacing: Bool) throws {
        let target = replacing ? path + ".new-\(getpid())" : path
        let descriptor = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            let error = errno
            if error == EEXIST, !replacing {
                throw ConfigurationError("\(path) already exists; pass --force to replace it")
            }
            throw CommandFailure("cannot create \(target): \(String(cString: strerror(error)))")
        }
        // errno is read in the same expression as the call that set it, before any other code runs.
        let (written, writeError) = bytes.withUnsafeBytes { raw in (write(descriptor, raw.baseAddress, raw.count), errno) }
        let (syncResult, syncError) = (fsync(descriptor), errno)
        let synced = syncResult == 0
        close(descriptor)
        guard written == bytes.count, synced else {
            unlink(target)
            let error = written == bytes.count ? syncError : writeError
            throw CommandFailure("cannot write \(target): \(String(cString: strerror(error)))")
        }
        if replacing, rename(target, path) != 0 {
            let error = errno
            unlink(target)
            throw CommandFailure("cannot replace \(path): \(String(cString: strerror(error)))")
        }
    }
}

import JWT
import TodoAPI

/// `migrate`, `check` and `backup`: what an operator runs against the database, through the
/// backend's own maintenance operations (no SQL here).
enum DatabaseCommands {
    static func migrate(_ settings: Settings) throws -> Int32 {
        let backend = try settings.backend()
        let version = try backend.migrate()
        print("database \(backend.displayName) is at schema version \(version)")
        return 0
    }

    /// Like `nginx -t`: the configuration, the JWKS (fetched now) and the database.
    static func check(_ settings: Settings) throws -> Int32 {
        let configuration = try settings.serverConfiguration()
        print("configuration ok: \(configuration.threads) threads, listen \(configuration.listenAddress ?? "fd 0"), "
            + "HS256 \(configuration.jwt.secret == nil ? "off" : "on"), issuer \(configuration.jwt.issuer ?? "(any)"), "
            + "audience \(configuration.jwt.audience ?? "(any)")")
        var healthy = true
        if let store = configuration.jwt.keys as? JWKSKeyStore {
            do {
                print("JWKS ok: \(store.sourceDescription) answers, \(try store.reload().description)")
            } catch {
                print("JWKS failed: \(store.sourceDescription): \(error)")
                healthy = false
            }
        }
        print(try configuration.backend.check())
        return healthy ? 0 : 1
    }

    /// `backup PATH`: a consistent copy of the live database while the service keeps serving.
    static func backup(_ settings: Settings) throws -> Int32 {
        guard settings.positional.count == 1, let destination = settings.positional.first else {
            throw ConfigurationError("usage: todo-fcgi backup PATH (PATH must not exist)")
        }
        do {
            print(try settings.backend().backup(to: destination))
        } catch let error as StorageError where error.kind == .conflict {
            throw ConfigurationError(error.message)
        }
        return 0
    }
}

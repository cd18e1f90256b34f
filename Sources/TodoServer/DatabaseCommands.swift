import JWT
import TaskModel
import TodoAPI

/// `migrate`, `check`, `backup` and `copy`: what an operator runs against the database, through the
/// backend's own maintenance operations (no SQL here).
enum DatabaseCommands {
    static func migrate(_ settings: Settings) throws -> Int32 {
        let backend = try settings.backend()
        let progress = progressLine(settings, label: "migrate", unit: "schema versions", estimates: false)
        let version = try backend.migrate { applied, pending in progress?.update(done: applied, total: Int64(pending)) }
        progress?.finish()
        print("database \(backend.displayName) is at schema version \(version)")
        return 0
    }

    /// `recount`: every user's task counts counted again from their tasks (after rows were
    /// written outside the service, which `check` reports).
    static func recount(_ settings: Settings) throws -> Int32 {
        let backend = try settings.backend()
        let drifted = try backend.recountTasks()
        print(drifted == 0 ? "database \(backend.displayName): every user's task counts match their tasks; nothing changed"
                           : "database \(backend.displayName): counted the tasks of \(drifted) users again")
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
            throw ConfigurationError("usage: todo-fcgi backup PATH [--force] (PATH must not exist unless --force)")
        }
        let backend = try settings.backend()
        let progress = progressLine(settings, label: "backup", unit: "MiB")
        let summary = try conflictAsUsageError { () throws(StorageError) in
            try backend.backup(to: destination, replacing: settings.isSet(.force)) { written, total in progress?.update(done: Int(written >> 20), total: total >> 20) }
        }
        progress?.finish()
        print(summary)
        return 0
    }

    /// `copy --from SRC --to DST`: every task, in one transaction on the destination.
    static func copy(_ settings: Settings) throws -> Int32 {
        guard let from = settings.value(.copySource), let to = settings.value(.copyDestination) else {
            throw ConfigurationError("usage: todo-fcgi copy --from PATH|URI --to PATH|URI")
        }
        let source = try settings.backend(named: from)
        let destination = try settings.backend(named: to)
        guard source.displayName != destination.displayName else {
            throw ConfigurationError("--from and --to are the same database")
        }
        let progress = progressLine(settings, label: "copy", unit: "tasks")
        let copied = try conflictAsUsageError { () throws(StorageError) in
            try TaskCopy.run(from: source, to: destination) { done, total in progress?.update(done: done, total: total) }
        }
        progress?.finish()
        print("copied \(copied.count) tasks from \(source.displayName) to \(destination.displayName); "
            + "ids continue after \(copied.highestID)")
        return 0
    }

    /// The command's progress on stderr; nil with `--quiet`.
    private static func progressLine(_ settings: Settings, label: String, unit: String, estimates: Bool = true) -> ProgressLine? {
        settings.isSet(.quiet) ? nil : ProgressLine(label: label, unit: unit, estimates: estimates)
    }

    /// Runs `body`; a conflict (an existing destination) is the user's to fix: exit status 2.
    private static func conflictAsUsageError<Result>(_ body: () throws(StorageError) -> Result) throws -> Result {
        do {
            return try body()
        } catch {
            if error.kind == .conflict { throw ConfigurationError(error.message) }
            throw error
        }
    }
}

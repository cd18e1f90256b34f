import PostgreSQL
import TaskModel

#if canImport(Glibc)
import Glibc
#endif

/// Runs `pg_dump` for `backup`.
///
/// The connection settings reach it as libpq environment variables (`PGHOST`, `PGPASSWORD`, …),
/// never as arguments, which every user of the machine can read in the process list.
enum PgDump {
    /// Dumps into `destination`, an empty file made for it (`BackupFile`), which pg_dump truncates.
    static func run(connectionString: String, destination: String) throws(StorageError) {
        let environment: [String: String]
        do {
            environment = try PostgresConnectionString.environment(connectionString)
        } catch {
            throw StorageError(.incompatible, error.message)
        }
        var variables = ProcessEnvironment.current.filter { !$0.key.hasPrefix("PG") }
        for (name, value) in environment { variables[name] = value }
        // The tasks table forces row-level security: the dump reads every user's rows through
        // the export policy, which this setting opens for pg_dump's session only.
        variables["PGOPTIONS"] = ((environment["PGOPTIONS"].map { $0 + " " }) ?? "") + "-c todo.export=on"
        let arguments = ["pg_dump", "--format=custom", "--enable-row-security", "--no-password", "--file", destination]
        let status = spawnAndWait(arguments, environment: variables)
        switch status {
        case .notFound:
            throw StorageError(.unavailable, "pg_dump is not installed (Debian: apt install postgresql-client). PostgreSQL is backed up "
                + "with its own tools: pg_dump, pg_basebackup, or your provider's backups (docs/SCALING.md)")
        case .exited(0):
            return
        case .exited(let code):
            throw StorageError(.unavailable, "pg_dump failed with exit status \(code); its messages are above")
        }
    }

    enum Status: Equatable { case notFound, exited(Int32) }

    private static func spawnAndWait(_ arguments: [String], environment: [String: String]) -> Status {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], nil, nil, argv, envp)
        guard result == 0 else { return .notFound }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .exited(128 + (status & 0x7F))
    }
}

/// This process's environment as a dictionary.
enum ProcessEnvironment {
    static var current: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }
}

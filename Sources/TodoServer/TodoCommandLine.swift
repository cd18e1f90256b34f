import APITables
import HTTPFetch
import Serving
import TodoAPI

/// The `todo-fcgi` command line: picks the command, runs it, and turns every failure into one
/// line on stderr and an exit code: 0 success, 1 runtime failure (e.g. the database), 2 bad
/// usage or configuration.
public enum TodoCommandLine {
    /// The version `--version` prints.
    public static let version = "0.1.0"

    /// One sub-command.
    struct Command: Sendable {
        let name: String
        let synopsis: String
        let help: String
        let run: @Sendable (Settings) throws -> Int32
        /// Whether it takes positional arguments.
        var takesArguments = false
    }

    static let commands: [Command] = [
        Command(name: "serve", synopsis: "serve (default)", help: "Run the FastCGI worker pool.", run: ServeCommand.run),
        Command(name: "migrate", synopsis: "migrate [--quiet]",
                help: "Create or upgrade the database schema, then exit (progress on stderr, --quiet: none).",
                run: DatabaseCommands.migrate),
        Command(name: "check", synopsis: "check", help: "Validate configuration, JWKS and database, like `nginx -t`.",
                run: DatabaseCommands.check),
        Command(name: "backup", synopsis: "backup PATH [--force] [--quiet]",
                help: "Copy the live database consistently to PATH (a new file of mode 0600, never through a symlink; an existing "
                    + "one only with --force; progress on stderr, --quiet: none); PostgreSQL through pg_dump.",
                run: DatabaseCommands.backup, takesArguments: true),
        Command(name: "copy", synopsis: "copy --from SRC --to DST [--quiet]",
                help: "Copy every task (ids, owners, timestamps) from one database to another, SQLite path or PostgreSQL "
                    + "URI on either side; DST must have no tasks. Progress on stderr (--quiet: none); prints the count.", run: DatabaseCommands.copy),
        Command(name: "recount", synopsis: "recount",
                help: "Count every user's tasks again for X-Total-Count (after rows were written outside todo-fcgi, "
                    + "which `check` reports); writers wait meanwhile.", run: DatabaseCommands.recount),
        Command(name: "token", synopsis: "token --sub ID [--ttl SECONDS] [--key PRIVATE_JWK]",
                help: "Print a token: HS256 with BETTER_AUTH_SECRET, or EdDSA with the key from `keygen`, "
                    + "shaped like Better Auth's JWT plugin makes them.", run: KeyCommands.token),
        Command(name: "keygen", synopsis: "keygen --private-key FILE --jwks FILE [--kid ID] [--force]",
                help: "Write a new Ed25519 private key (JWK, mode 0600) and the matching JWKS; existing files "
                    + "are refused unless --force replaces them.", run: KeyCommands.keygen),
        Command(name: "nginx-cors-map", synopsis: "nginx-cors-map [--env-file FILE]",
                help: "Print TODO_CORS_ORIGINS as the nginx maps that give nginx's own errors (413, 429, 502, ...) "
                    + "the worker's CORS headers.", run: NginxCommands.nginxCORSMap),
        Command(name: "nginx-maps", synopsis: "nginx-maps",
                help: "Print the nginx maps read from the binary's tables: the Allow list of nginx's own 405 (e.g. "
                    + "TRACE) per route, and the X-Request-ID rule.", run: NginxCommands.maps),
    ]

    /// `--help`, generated from the command and option tables.
    static var usage: String {
        var text = "Usage: todo-fcgi [COMMAND] [options]\n\nCommands (serve when none is given):\n"
        for command in commands {
            text += entry(command.synopsis, command.help, column: 20)
        }
        text += "\nOptions (flags override environment variables):\n"
        for option in Option.all {
            guard let flag = option.flag else { continue }
            let left = flag + (option.argument.map { " " + $0 } ?? "")
            var notes: [String] = []
            if let variable = option.variable { notes.append(variable) }
            if let value = option.defaultValue { notes.append("default " + value) }
            text += entry(left, option.help + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"), column: 28)
        }
        text += entry("--help, --version", "This text; the version.", column: 28)
        text += "\nEnvironment:\n"
        for option in Option.all where option.flag == nil {
            text += entry(option.variable ?? "", option.help + (option.defaultValue.map { " Default \($0)." } ?? ""), column: 28)
        }
        return text
    }

    /// `left` then `help` wrapped at 100 columns, continuation lines indented to `column`.
    private static func entry(_ left: String, _ help: String, column: Int) -> String {
        var lines: [String] = []
        var line = "  " + left
        if line.count + 2 > column {
            lines.append(line)
            line = ""
        }
        line += String(repeating: " ", count: column - line.count)
        for word in help.split(separator: " ") {
            if line.count + word.count + 1 > 100, line.contains(where: { $0 != " " }) {
                lines.append(line)
                line = String(repeating: " ", count: column)
            }
            line += (line.last == " " ? "" : " ") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs the command in `arguments` (without the program name) with `environment`, and
    /// returns the exit code.
    public static func run(arguments: [String]) -> Int32 {
        run(arguments: arguments, environment: Settings.processEnvironment)
    }

    /// `run(arguments:)` with the environment looked up in `environment` (for tests).
    static func run(arguments: [String], environment: @escaping (String) -> String?) -> Int32 {
        var arguments = arguments
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage, terminator: "")
            return 0
        }
        if arguments.contains("--version") {
            print("todo-fcgi \(version)")
            return 0
        }
        let name = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "serve"
        if !arguments.isEmpty, !arguments[0].hasPrefix("-") { arguments.removeFirst() }
        HTTPFetch.initialize()
        do {
            guard let command = commands.first(where: { $0.name == name }) else {
                throw ConfigurationError("unknown command \(name); see --help")
            }
            let settings = try Settings(arguments: arguments, environment: environment)
            if !command.takesArguments, let extra = settings.positional.first {
                throw ConfigurationError("unexpected argument \(extra)")
            }
            return try command.run(settings)
        } catch let error as ConfigurationError {
            Log.error("\(error)")
            return 2
        } catch {
            Log.error("\(error)")
            return 1
        }
    }
}

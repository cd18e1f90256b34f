import HTTPFetch
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// Entry point: picks the command, turns every failure into one line on stderr.
/// Exit codes: 0 success, 1 runtime failure (e.g. database), 2 bad usage or configuration.
func runMain() -> Int32 {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.contains("--help") || arguments.contains("-h") {
        print(Commands.usage)
        return 0
    }
    if arguments.contains("--version") {
        print("todo-fcgi \(Commands.version)")
        return 0
    }
    let command = arguments.first.flatMap { $0.hasPrefix("-") ? nil : $0 } ?? "serve"
    if !arguments.isEmpty, !arguments[0].hasPrefix("-") { arguments.removeFirst() }
    HTTPFetch.initialize()
    do {
        let settings = try Settings(arguments: arguments)
        if command != "backup", let extra = settings.positional.first {
            throw ConfigurationError("unexpected argument \(extra)")
        }
        switch command {
        case "serve": return try Commands.serve(settings)
        case "migrate": return try Commands.migrate(settings)
        case "check": return try Commands.check(settings)
        case "token": return try Commands.token(settings)
        case "keygen": return try Commands.keygen(settings)
        case "backup": return try Commands.backup(settings)
        case "nginx-cors-map":
            print(try settings.corsPolicy().nginxMap, terminator: "")
            return 0
        default: throw ConfigurationError("unknown command \(command); see --help")
        }
    } catch let error as ConfigurationError {
        Log.line("\(error)")
        return 2
    } catch let error as TaskDatabase.OpenError {
        Log.line("\(error)")
        return 1
    } catch {
        Log.line("\(error)")
        return 1
    }
}

exit(runMain())

import Testing
@testable import TodoServer

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes and `--help`, through the command line's own entry point.
@Suite("Command line")
struct CommandLineTests {
    @Test func helpListsEveryCommandAndEveryOptionWithItsVariableAndDefault() {
        let usage = TodoCommandLine.usage
        for command in TodoCommandLine.commands {
            #expect(usage.contains("  " + command.synopsis), "\(command.name)")
        }
        for option in Option.all {
            if let flag = option.flag { #expect(usage.contains(flag), "\(flag)") }
            if let variable = option.variable { #expect(usage.contains(variable), "\(variable)") }
        }
        #expect(usage.contains("--threads N") && usage.contains("(TODO_THREADS, default 8)"))
        #expect(usage.split(separator: "\n").allSatisfy { $0.count <= 100 })
    }

    @Test func exitCodes() {
        let environment = ["BETTER_AUTH_SECRET": "a-shared-secret-of-at-least-32-bytes!"]
        #expect(TodoCommandLine.run(arguments: ["--version"], environment: { environment[$0] }) == 0)
        #expect(TodoCommandLine.run(arguments: ["frobnicate"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["migrate", "extra"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["token"], environment: { environment[$0] }) == 2)
        #expect(TodoCommandLine.run(arguments: ["token", "--sub", "alice"], environment: { environment[$0] }) == 0)
        let missing = "/tmp/todo-fcgi-missing-\(UInt64.random(in: 0...UInt64.max)).db"
        #expect(TodoCommandLine.run(arguments: ["backup", "--database", missing, missing + ".copy"], environment: { environment[$0] }) == 1)
        #expect(access(missing, F_OK) != 0)  // a mistyped database is never created
    }
}

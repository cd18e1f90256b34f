import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import TodoServer

/// The service's environment file, read as systemd reads it.
@Suite("Environment file")
struct EnvironmentFileTests {
    @Test func readsAssignmentsAsSystemdDoes() {
        let file = EnvironmentFile(text: """
            # comment
            ; another comment

            BETTER_AUTH_URL=https://app.example.com
              TODO_THREADS = 16
            TODO_CORS_ORIGINS="https://a.example.com, https://b.example.com"
            QUOTED='single'
            WITH_HASH=value # not a comment for systemd
            EMPTY=
            no equals sign here
            TODO_THREADS=24
            """)
        #expect(file.values["BETTER_AUTH_URL"] == "https://app.example.com")
        #expect(file.values["TODO_CORS_ORIGINS"] == "https://a.example.com, https://b.example.com")
        #expect(file.values["QUOTED"] == "single")
        #expect(file.values["WITH_HASH"] == "value # not a comment for systemd")
        #expect(file.values["EMPTY"] == "")
        #expect(file.values["TODO_THREADS"] == "24")  // the last one wins
        #expect(file.values.count == 6)
    }

    @Test func theCORSMapCanComeFromTheServicesFile() throws {
        let path = "/tmp/todo-fcgi-env-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(path) }
        let file = fopen(path, "w")
        fputs("TODO_CORS_ORIGINS=https://a.example.com, http://localhost:3000\n", file)
        fclose(file)
        // A space after the comma would have made a shell run "http://localhost:3000" as a command.
        #expect(TodoCommandLine.run(arguments: ["nginx-cors-map", "--env-file", path], environment: { _ in nil }) == 0)
        #expect(TodoCommandLine.run(arguments: ["nginx-cors-map", "--env-file", "/nonexistent/env"], environment: { _ in nil }) == 2)
    }
}

import Testing
@testable import TodoServer

#if canImport(Glibc)
import Glibc
#endif

/// Flags, environment, defaults and ranges, from the option table.
@Suite("Settings")
struct SettingsTests {
    static func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> Settings {
        try Settings(arguments: arguments, environment: { environment[$0] })
    }

    @Test func aFlagOverridesItsVariableWhichOverridesTheDefault() throws {
        #expect(try Self.settings([]).integer(.threads) == 8)
        #expect(try Self.settings([], ["TODO_THREADS": "12"]).integer(.threads) == 12)
        #expect(try Self.settings(["--threads", "3"], ["TODO_THREADS": "12"]).integer(.threads) == 3)
        #expect(try Self.settings(["--threads=4"], ["TODO_THREADS": "12"]).integer(.threads) == 4)
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        #expect(try Self.settings([], ["TODO_THREADS": ""]).integer(.threads) == 8)
        #expect(try Self.settings([], ["TODO_DATABASE": ""]).value(.database) == "./todo.db")
    }

    @Test(arguments: [("--threads", "0"), ("--threads", "257"), ("--threads", "eight"), ("--backlog", "70000"),
                      ("--max-connections", "0"), ("--queue-timeout", "25001"), ("--ttl", "-1")])
    func integersOutsideTheirRangeAreRefusedNamingTheFlag(_ flag: String, _ value: String) throws {
        let option = try #require(Option.all.first { $0.flag == flag })
        #expect(throws: ConfigurationError.self) { try Self.settings([flag, value]).integer(option) }
        do {
            _ = try Self.settings([flag, value]).integer(option)
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix("\(flag) must be an integer from "))
            #expect(error.description.hasSuffix("got \"\(value)\""))
        }
    }

    @Test func variablesOutsideTheirRangeAreRefusedNamingTheVariable() throws {
        #expect(throws: ConfigurationError("JWKS_MAX_AGE must be an integer from 1 to 86400, got \"0\"")) {
            try Self.settings([], ["JWKS_MAX_AGE": "0"]).integer(.jwksMaximumAge)
        }
        #expect(throws: ConfigurationError("JWT_LEEWAY must be an integer from 0 to 3600, got \"3601\"")) {
            try Self.settings([], ["JWT_LEEWAY": "3601"]).integer(.leeway)
        }
    }

    @Test func unknownOptionsMissingValuesAndValuedSwitchesAreRefused() {
        #expect(throws: ConfigurationError("unknown option --thread")) { try Self.settings(["--thread", "2"]) }
        #expect(throws: ConfigurationError("--database needs a value")) { try Self.settings(["--database"]) }
        #expect(throws: ConfigurationError("--force takes no value")) { try Self.settings(["--force=yes"]) }
    }

    @Test func switchesAndPositionalArguments() throws {
        let settings = try Self.settings(["--force", "backup.db", "--kid", "k"])
        #expect(settings.isSet(.force))
        #expect(!(try Self.settings([]).isSet(.force)))
        #expect(settings.positional == ["backup.db"])
        #expect(settings.value(.keyID) == "k")
    }

    @Test func theSecretComesFromTheCredentialThenTheFileThenTheVariable() throws {
        let directory = "/tmp/todo-fcgi-settings-\(UInt64.random(in: 0...UInt64.max))"
        mkdir(directory, 0o700)
        defer { unlink(directory + "/better-auth-secret"); unlink(directory + "/file"); rmdir(directory) }
        let write = { (path: String, text: String) in
            let file = fopen(path, "w")
            fputs(text, file)
            fclose(file)
        }
        write(directory + "/file", "from-the-file-0123456789abcdefghij\n")
        var environment = ["BETTER_AUTH_SECRET": "from-the-variable-0123456789abcdef"]
        #expect(try Self.settings([], environment).secret()?.source == "environment")
        environment["BETTER_AUTH_SECRET_FILE"] = directory + "/file"
        #expect(try Self.settings([], environment).secret()?.value == "from-the-file-0123456789abcdefghij")
        environment["CREDENTIALS_DIRECTORY"] = directory
        #expect(try Self.settings([], environment).secret()?.source == "file \(directory)/file")  // no credential there yet
        write(directory + "/better-auth-secret", "from-the-credential-0123456789abc")
        #expect(try Self.settings([], environment).secret()?.value == "from-the-credential-0123456789abc")
        #expect(try Self.settings([], [:]).secret() == nil)
    }

    @Test func issuerAndAudienceDefaultToTheBetterAuthURLUnlessOverridden() throws {
        #expect(try Self.settings([]).issuerAndAudience() == (nil, nil))
        let base = ["BETTER_AUTH_URL": "https://app.example.com"]
        #expect(try Self.settings([], base).issuerAndAudience() == ("https://app.example.com", "https://app.example.com"))
        var both = base
        both["JWT_AUDIENCE"] = "api"
        #expect(try Self.settings([], both).issuerAndAudience() == ("https://app.example.com", "api"))
    }
}

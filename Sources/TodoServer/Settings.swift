#if canImport(Glibc)
import Glibc
#endif

/// The command line and the environment, read through the option table: a flag overrides its
/// environment variable, an empty variable counts as unset, and defaults come from the table.
struct Settings {
    private(set) var flags: [String: String] = [:]
    private(set) var positional: [String] = []
    /// Switches that were given (e.g. `--force`).
    private(set) var switches: Set<String> = []
    /// Looks an environment variable up.
    let environment: (String) -> String?

    /// Parses `arguments` (without the command name); `environment` looks variables up.
    init(arguments: [String], environment: @escaping (String) -> String? = Settings.processEnvironment) throws(ConfigurationError) {
        self.environment = environment
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            var name = argument
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            guard let option = Option.all.first(where: { $0.flag == name }) else {
                throw ConfigurationError("unknown option \(name)")
            }
            if option.argument == nil {
                guard value == nil else { throw ConfigurationError("\(name) takes no value") }
                switches.insert(name)
                continue
            }
            if value == nil {
                guard index < arguments.count else { throw ConfigurationError("\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            flags[name] = value
        }
    }

    /// The flag's value, else the environment variable's, else the default, else nil.
    func value(_ option: Option) -> String? {
        if let flag = option.flag, let value = flags[flag] { return value }
        if let variable = option.variable, let value = environment(variable), !value.isEmpty { return value }
        return option.defaultValue
    }

    /// A setting the option table gives a default: its value, or that default.
    func valueOrDefault(_ option: Option) -> String {
        precondition(option.defaultValue != nil, "\(option.name) has no default in the option table")
        return value(option) ?? option.defaultValue ?? ""
    }

    /// Whether a switch was given.
    func isSet(_ option: Option) -> Bool {
        option.flag.map { switches.contains($0) } ?? false
    }

    /// An integer setting, checked against the option's range.
    func integer(_ option: Option) throws(ConfigurationError) -> Int {
        guard let text = value(option) else { throw ConfigurationError("\(option.name) is required") }
        guard let number = Int(text), option.range.map({ $0.contains(number) }) ?? true else {
            let range = option.range.map { " from \($0.lowerBound) to \($0.upperBound)" } ?? ""
            throw ConfigurationError("\(option.name) must be an integer\(range), got \"\(text)\"")
        }
        return number
    }

    /// Looks a variable up in this process's environment.
    @Sendable static func processEnvironment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// The file's content without one trailing newline (as `echo` and editors leave it).
    static func readSecretFile(_ path: String) throws(ConfigurationError) -> String {
        var bytes = try readFile(path, limit: 65536)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The whole file, refusing files over `limit` bytes.
    static func readFile(_ path: String, limit: Int) throws(ConfigurationError) -> [UInt8] {
        guard let file = fopen(path, "r") else {
            let error = errno
            throw ConfigurationError("cannot read \(path): \(String(cString: strerror(error)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
            guard bytes.count <= limit else { throw ConfigurationError("\(path) is larger than \(limit) bytes") }
        }
        return bytes
    }
}

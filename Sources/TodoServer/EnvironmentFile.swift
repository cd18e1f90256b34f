import ASCII

/// A systemd `EnvironmentFile=` read the way systemd reads it, so a command can take settings
/// from the file the service gets them from (a shell's `.` would run words after a space as
/// commands, and keep `# …` out of values that systemd keeps in).
struct EnvironmentFile {
    /// The assignments, the last one of a name winning.
    let values: [String: String]

    /// Parses `text`: `KEY=value` lines; blank lines and lines starting with `#` or `;` are
    /// ignored; spaces around the key and the value are dropped; a value wholly in double or
    /// single quotes loses them.
    init(text: String) {
        var values: [String: String] = [:]
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingASCIISpaces
            guard let first = line.first, first != "#", first != ";", let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals].trimmingASCIISpaces)
            var value = line[line.index(after: equals)...].trimmingASCIISpaces
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = value.dropFirst().dropLast()
            }
            if !key.isEmpty { values[key] = String(value) }
        }
        self.values = values
    }

    /// Reads the file at `path`.
    static func read(_ path: String) throws(ConfigurationError) -> EnvironmentFile {
        EnvironmentFile(text: String(decoding: try Settings.readFile(path, limit: 1 << 20), as: UTF8.self))
    }
}

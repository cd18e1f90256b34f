import CPostgres

/// What the service needs to know about a libpq connection string without connecting.
public enum PostgresConnectionString {
    /// Whether `value` names a PostgreSQL database (a `postgresql://` or `postgres://` URI)
    /// rather than an SQLite file path.
    public static func isPostgres(_ value: String) -> Bool {
        value.hasPrefix("postgresql://") || value.hasPrefix("postgres://")
    }

    /// The string as libpq parses it, for logs and messages: user, host, port, database and
    /// sslmode, never the password. Throws libpq's message when the string is malformed.
    public static func redacted(_ connectionString: String) throws(PostgresError) -> String {
        let values = try parse(connectionString).values
        // The host may be a socket directory; libpq's environment and defaults fill in the rest.
        let host = values["host"] ?? values["hostaddr"] ?? "(PGHOST or the default socket)"
        var text = "postgresql://\(values["user"].map { $0 + "@" } ?? "")\(host)"
        if let port = values["port"] { text += ":\(port)" }
        text += "/\(values["dbname"] ?? "")"
        if let mode = values["sslmode"] { text += " sslmode=\(mode)" }
        return text
    }

    /// The settings of the string as the libpq environment variables that carry them (`PGHOST`,
    /// `PGPASSWORD`, …), for running libpq tools without putting a password in their arguments.
    public static func environment(_ connectionString: String) throws(PostgresError) -> [String: String] {
        let parsed = try parse(connectionString)
        var variables: [String: String] = [:]
        for (keyword, value) in parsed.values {
            if let name = parsed.variables[keyword] { variables[name] = value }
        }
        return variables
    }

    /// The keywords the string sets, with their values, and each keyword's environment variable.
    private static func parse(_ connectionString: String) throws(PostgresError) -> (values: [String: String], variables: [String: String]) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(errorMessage)
            throw PostgresError(message: "invalid PostgreSQL connection string: "
                + message.split(whereSeparator: \.isNewline).joined(separator: " "))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var variables: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if let value = option.pointee.val { values[name] = String(cString: value) }
            if let variable = option.pointee.envvar { variables[name] = String(cString: variable) }
            option += 1
        }
        return (values, variables)
    }
}

/// A configuration problem: reported on one line, exit code 2.
struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A command that failed at run time (a database that fails its check, a file that cannot be
/// written): reported on one line, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

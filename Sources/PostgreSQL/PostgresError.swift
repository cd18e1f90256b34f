/// A failed libpq call or statement: the SQLSTATE when the server sent one, the message, and
/// whether the connection itself is gone.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html);
    /// nil for failures on the client side (no connection, a broken pipe).
    public let sqlState: String?
    /// libpq's or the server's message, on one line.
    public let message: String
    /// Whether the connection can no longer be used: it must be closed and made again.
    public let connectionLost: Bool

    /// A failure with `message`, from the server (`sqlState`) or the client.
    public init(sqlState: String? = nil, message: String, connectionLost: Bool = false) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    /// The database cannot serve now but may soon: the connection is lost, or the server is
    /// starting, shutting down, out of connections or of resources (classes 08, 53, 57P).
    public var isUnavailable: Bool {
        if connectionLost { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("53") || sqlState.hasPrefix("57P")
            || sqlState == "25006" // read_only_sql_transaction: a standby took the primary's place
    }

    /// The server refused to write because it is read-only now (25006): a standby took the
    /// primary's place, or the primary was fenced. Nothing of the transaction was done; the
    /// connection is of no use for writes any more.
    public var isReadOnly: Bool { sqlState == "25006" }

    /// Another transaction was in the way: serialization failure, deadlock, lock or statement timeout.
    public var isBusy: Bool {
        guard let sqlState else { return false }
        return sqlState == "40001" || sqlState == "40P01" || sqlState == "55P03" || sqlState == "57014"
    }

    /// The server does not have a statement this connection prepared (26000), or already has one
    /// under a new statement's name (42P05): a transaction-mode pooler that does not track named
    /// statements is passing the connection's transactions to several server connections.
    public var isPreparedStatementMissing: Bool { sqlState == "26000" || sqlState == "42P05" }

    /// An integrity constraint (unique, check, not null, foreign key) refused the write (class 23).
    public var isConstraintViolation: Bool { sqlState?.hasPrefix("23") ?? false }

    public var description: String {
        if let sqlState { return "PostgreSQL error \(sqlState): \(message)" }
        return "PostgreSQL: \(message)"
    }
}

import CPostgres

extension PostgresConnection {
    /// Starts `COPY … FROM STDIN` (`sql`); until `endCopyIn`, the connection only takes
    /// `putCopyData`. Used by `copy`, where rows go in at the server's bulk-load speed.
    public func beginCopyIn(_ sql: String) throws(PostgresError) {
        guard let result = PQexec(handle, sql) else { throw lastError() }
        let status = PQresultStatus(result)
        if status == PGRES_COPY_IN {
            PQclear(result)
            return
        }
        _ = try checked(result)
        throw PostgresError(message: "COPY did not start: the statement was not a COPY FROM STDIN")
    }

    /// Sends `bytes` (whole rows in the COPY's format) to the running COPY.
    public func putCopyData(_ bytes: [UInt8]) throws(PostgresError) {
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1 else { throw lastError() }
    }

    /// Ends the running COPY and returns how many rows it stored; a failure (a refused value, a
    /// violated constraint) is thrown here, with nothing of the COPY stored.
    @discardableResult
    public func endCopyIn() throws(PostgresError) -> Int64 {
        guard PQputCopyEnd(handle, nil) == 1 else { throw lastError() }
        guard let result = PQgetResult(handle) else { throw lastError() }
        let done = try checked(result)
        while let extra = PQgetResult(handle) { PQclear(extra) }
        return done.affectedRows
    }
}

extension PostgresConnection {
    /// Ends a running COPY without storing anything (its transaction is then in error).
    public func abortCopyIn(reason: String) {
        guard PQputCopyEnd(handle, reason) == 1 else { return }
        while let result = PQgetResult(handle) { PQclear(result) }
    }
}

import CSQLite

/// What the progress handler calls: a box SQLite holds a pointer to while `body` runs.
private final class ProgressCallback {
    let call: () -> Void
    init(_ call: @escaping () -> Void) { self.call = call }
}

extension SQLiteConnection {
    /// Runs `body` with `handler` called about every `instructions` virtual-machine steps of
    /// the statements it runs (a long `VACUUM INTO`, say), then removes the handler. The handler
    /// only observes: it never interrupts the statement.
    public func withProgressHandler<Result, Failure: Error>(every instructions: Int32, _ handler: @escaping () -> Void,
                                                            _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        let box = Unmanaged.passRetained(ProgressCallback(handler))
        sqlite3_progress_handler(handle, instructions, { context in
            guard let context else { return 0 }
            Unmanaged<ProgressCallback>.fromOpaque(context).takeUnretainedValue().call()
            return 0
        }, box.toOpaque())
        defer {
            sqlite3_progress_handler(handle, 0, nil, nil)
            box.release()
        }
        return try body()
    }
}

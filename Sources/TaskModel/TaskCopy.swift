import Locks

/// `todo-fcgi copy`: every task from one database into another, whatever the backends.
public enum TaskCopy {
    /// Copies every task of `source` into `destination` (which must have no tasks) in one
    /// destination transaction; returns how many were copied and the highest id the source
    /// ever issued (the destination's ids continue after it).
    ///
    /// `progress` is told how many tasks of how many are copied after each batch (the total is
    /// counted before the copy starts; the copy itself reads one snapshot).
    public static func run(from source: any TaskBackend, to destination: any TaskBackend,
                           progress: (_ copied: Int, _ total: Int64) -> Void = { _, _ in }) throws(StorageError) -> (count: Int, highestID: Int64) {
        // Fail before creating anything when the source is missing, unreachable or not of this
        // build's schema (a store opens without creating or migrating).
        let sourceStore = try source.makeStore()
        try sourceStore.checkHealth()
        let cursorKey = try sourceStore.syncCursorKey()
        // Contract §11: never a value stored shortened. Checked before the destination exists.
        if !destination.storesNUL {
            let holding = try source.tasksHoldingNUL()
            if !holding.isEmpty {
                let named = holding.prefix(20).map(String.init).joined(separator: ", ") + (holding.count > 20 ? ", …" : "")
                throw StorageError(.conflict, "\(holding.count) task(s) of \(source.displayName) hold U+0000 in their text, "
                    + "which \(destination.displayName) cannot store: ids \(named); edit or delete them in the source, then copy again")
            }
        }
        let total = try source.countTasks()
        let importer = try destination.makeImporter()
        progress(0, total)
        // The source is read (and each row's derived columns derived) on a thread of its own
        // while this one writes the destination: the two halves of a copy cost about the same,
        // and a machine has more than one core. At most two batches wait in between.
        let batches = BoundedChannel<StoredRowBatch>(capacity: 2)
        let exported = Locked<Result<Int64, StorageError>>(.failure(StorageError(.internal, "the source was not read")))
        let reader = WorkerThread {
            exported.withLock { $0 = exportInBatches(source, to: batches) }
            batches.finish()
        }
        var copied = 0
        do throws(StorageError) {
            while let batch = batches.receive() {
                try importer.insert(batch)
                copied += batch.count
                progress(copied, total)
            }
        } catch {
            batches.cancel()
            reader.join()
            throw error
        }
        reader.join()
        let highestID = try exported.withLock { $0 }.get()
        // Read after the tasks' snapshot: a user with history then has it now (counters are never removed).
        let syncUsers = try source.usersWithSyncHistory()
        let appPasswords = try source.exportAppPasswords()
        return (try importer.finish(highestIssuedID: highestID, syncCursorKey: cursorKey, syncUsers: syncUsers,
                                    appPasswords: appPasswords), highestID)
    }

    /// Reads every task of `source` into batches sent to `batches`; returns the source's
    /// highest issued id, or why it stopped (the receiver's cancel included).
    private static func exportInBatches(_ source: any TaskBackend, to batches: BoundedChannel<StoredRowBatch>) -> Result<Int64, StorageError> {
        var batch = StoredRowBatch()
        func send() throws(StorageError) {
            guard batches.send(batch) else { throw StorageError(.internal, "the copy's destination stopped") }
            batch = StoredRowBatch()
        }
        do throws(StorageError) {
            let highestID = try source.exportTasks { (task) throws(StorageError) in
                try batch.append(task)
                if batch.isFull { try send() }
            }
            if batch.count > 0 { try send() }
            return .success(highestID)
        } catch {
            return .failure(error)
        }
    }
}

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
        var copied = 0
        progress(0, total)
        let highestID = try source.exportTasks { (batch) throws(StorageError) in
            try importer.insert(batch)
            copied += batch.count
            progress(copied, total)
        }
        return (try importer.finish(highestIssuedID: highestID, syncCursorKey: cursorKey), highestID)
    }
}

/// `todo-fcgi copy`: every task from one database into another, whatever the backends.
public enum TaskCopy {
    /// Copies every task of `source` into `destination` (which must have no tasks) in one
    /// destination transaction; returns how many were copied and the highest id the source
    /// ever issued (the destination's ids continue after it).
    public static func run(from source: any TaskBackend, to destination: any TaskBackend) throws(StorageError) -> (count: Int, highestID: Int64) {
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
        let importer = try destination.makeImporter()
        let highestID = try source.exportTasks(importer.insert)
        return (try importer.finish(highestIssuedID: highestID, syncCursorKey: cursorKey), highestID)
    }
}

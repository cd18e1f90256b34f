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
        let importer = try destination.makeImporter()
        let highestID = try source.exportTasks(importer.insert)
        return (try importer.finish(highestIssuedID: highestID, syncCursorKey: cursorKey), highestID)
    }
}

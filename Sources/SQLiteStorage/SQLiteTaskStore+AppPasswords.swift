import SQLite
import TaskModel

/// App passwords in SQLite: writes through the group commit like every task write (one writer,
/// so the count and the insert cannot race), reads on the thread's own connection.
extension SQLiteTaskStore {
    public func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation {
        try write { connection throws(SQLiteError) -> AppPasswordCreation in
            let count = try connection.cachedStatement("SELECT count(*) FROM app_passwords WHERE user_id = ?1")
            defer { count.reset() }
            try count.bind(userID, at: 1)
            guard try count.step(), count.int64(at: 0) < AppPassword.maximumPerUser else { return .tooMany }
            count.reset()
            let insert = try connection.cachedStatement("""
                INSERT INTO app_passwords (user_id, name, secret_digest, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id
                """)
            defer { insert.reset() }
            try insert.bind(userID, at: 1)
            try insert.bind(name, at: 2)
            try insert.bind(digest, at: 3)
            try insert.bind(now, at: 4)
            guard try insert.step() else { throw SQLiteError(code: .error, message: "INSERT … RETURNING returned no row") }
            let id = insert.int64(at: 0)
            while try insert.step() {}
            return .created(AppPassword(id: id, name: name, createdAt: now, lastUsedAt: nil))
        }
    }

    public func appPasswords(userID: String) throws(StorageError) -> [AppPassword] {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> [AppPassword] in
            let statement = try connection.cachedStatement(
                "SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_id = ?1 ORDER BY id")
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            var found: [AppPassword] = []
            while try statement.step() {
                found.append(AppPassword(id: statement.int64(at: 0), name: statement.string(at: 1) ?? "", createdAt: statement.int64(at: 2),
                                         lastUsedAt: statement.isNull(at: 3) ? nil : statement.int64(at: 3)))
            }
            return found
        }
    }

    public func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool {
        try write { connection throws(SQLiteError) -> Bool in
            let statement = try connection.cachedStatement("DELETE FROM app_passwords WHERE user_id = ?1 AND id = ?2 RETURNING id")
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            try statement.bind(id, at: 2)
            let deleted = try statement.step()
            while try statement.step() {}
            return deleted
        }
    }

    public func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest] {
        try ensureCurrentFile()
        return try SQLiteBackend.mapped { () throws(SQLiteError) -> [AppPasswordDigest] in
            let statement = try connection.cachedStatement("SELECT id, secret_digest, last_used_at FROM app_passwords WHERE user_id = ?1")
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            var found: [AppPasswordDigest] = []
            while try statement.step() {
                found.append(AppPasswordDigest(id: statement.int64(at: 0), digest: statement.string(at: 1) ?? "",
                                               lastUsedAt: statement.isNull(at: 2) ? nil : statement.int64(at: 2)))
            }
            return found
        }
    }

    public func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError) {
        try write { connection throws(SQLiteError) in
            let statement = try connection.cachedStatement("""
                UPDATE app_passwords SET last_used_at = ?3
                WHERE user_id = ?1 AND id = ?2 AND (last_used_at IS NULL OR last_used_at < ?3 - \(AppPassword.lastUseGranularity))
                """)
            defer { statement.reset() }
            try statement.bind(userID, at: 1)
            try statement.bind(id, at: 2)
            try statement.bind(now, at: 3)
            try statement.run()
        }
    }
}

import PostgreSQL
import TaskModel

/// App passwords in PostgreSQL, under row-level security like the tasks (the owner set for each
/// transaction). A create takes a per-user advisory lock for its transaction, so two at once
/// cannot both pass the count.
extension PostgresTaskStore {
    public func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation {
        let results = try run(userID, [
            Step("SELECT pg_advisory_xact_lock(hashtextextended('app_passwords:' || $1, 0))", [userID]),
            Step("""
                INSERT INTO app_passwords (user_id, name, secret_digest, created_at)
                SELECT $1, $2, $3, $4::bigint
                WHERE (SELECT count(*) FROM app_passwords WHERE user_id = $1) < \(AppPassword.maximumPerUser)
                RETURNING id
                """, [userID, name, digest, String(now)]),
            Step("COMMIT"),
        ], begin: "BEGIN", write: true)
        guard results[1].rowCount == 1 else { return .tooMany }
        return .created(AppPassword(id: results[1].int64(row: 0, column: 0), name: name, createdAt: now, lastUsedAt: nil))
    }

    public func appPasswords(userID: String) throws(StorageError) -> [AppPassword] {
        let result = try read(userID, [Step("SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_id = $1 ORDER BY id",
                                            [userID])])[0]
        return (0..<result.rowCount).map { row in
            AppPassword(id: result.int64(row: row, column: 0), name: result.text(row: row, column: 1) ?? "",
                        createdAt: result.int64(row: row, column: 2),
                        lastUsedAt: result.isNull(row: row, column: 3) ? nil : result.int64(row: row, column: 3))
        }
    }

    public func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool {
        let result = try run(userID, [Step("DELETE FROM app_passwords WHERE user_id = $1 AND id = $2::bigint RETURNING id",
                                           [userID, String(id)])], write: true)[0]
        return result.rowCount == 1
    }

    public func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest] {
        let result = try read(userID, [Step("SELECT id, secret_digest, last_used_at FROM app_passwords WHERE user_id = $1", [userID])])[0]
        return (0..<result.rowCount).map { row in
            AppPasswordDigest(id: result.int64(row: row, column: 0), digest: result.text(row: row, column: 1) ?? "",
                              lastUsedAt: result.isNull(row: row, column: 2) ? nil : result.int64(row: row, column: 2))
        }
    }

    public func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError) {
        _ = try run(userID, [Step("""
            UPDATE app_passwords SET last_used_at = $3::bigint
            WHERE user_id = $1 AND id = $2::bigint AND (last_used_at IS NULL OR last_used_at < $3::bigint - \(AppPassword.lastUseGranularity))
            """, [userID, String(id), String(now)])], write: true)
    }
}

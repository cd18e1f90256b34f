import TaskModel

/// App passwords in memory, each operation one step under the backend's lock.
extension MemoryTaskStore {
    func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation {
        backend.database.withLock { database in
            guard database.appPasswords.values.filter({ $0.userID == userID }).count < AppPassword.maximumPerUser else { return .tooMany }
            database.highestAppPasswordID += 1
            let password = AppPassword(id: database.highestAppPasswordID, name: name, createdAt: now, lastUsedAt: nil)
            database.appPasswords[password.id] = (userID, digest, password)
            return .created(password)
        }
    }

    func appPasswords(userID: String) throws(StorageError) -> [AppPassword] {
        backend.database.withLock { database in
            database.appPasswords.values.filter { $0.userID == userID }.map(\.password).sorted { $0.id < $1.id }
        }
    }

    func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool {
        backend.database.withLock { database in
            guard database.appPasswords[id]?.userID == userID else { return false }
            database.appPasswords[id] = nil
            return true
        }
    }

    func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest] {
        backend.database.withLock { database in
            database.appPasswords.values.filter { $0.userID == userID }
                .map { AppPasswordDigest(id: $0.password.id, digest: $0.digest, lastUsedAt: $0.password.lastUsedAt) }
        }
    }

    func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError) {
        backend.database.withLock { database in
            guard let entry = database.appPasswords[id], entry.userID == userID,
                  (entry.password.lastUsedAt ?? Int64.min) < now - AppPassword.lastUseGranularity else { return }
            let used = AppPassword(id: id, name: entry.password.name, createdAt: entry.password.createdAt, lastUsedAt: now)
            database.appPasswords[id] = (userID, entry.digest, used)
        }
    }
}

/// An app password as stored (Addendum v2.2 §14.2): what its owner sees of it. The password
/// itself is never stored, only its SHA-256 digest.
public struct AppPassword: Sendable, Equatable {
    /// The id, never reused.
    public let id: Int64
    /// The owner's name for it (1…100 characters).
    public let name: String
    /// When it was made, milliseconds since the epoch.
    public let createdAt: Int64
    /// When it last opened `/dav/` (at most `AppPassword.lastUseGranularity` stale); nil before.
    public let lastUsedAt: Int64?

    /// An app password of these parts.
    public init(id: Int64, name: String, createdAt: Int64, lastUsedAt: Int64?) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    /// The most app passwords one user has.
    public static let maximumPerUser = 20
    /// How stale `lastUsedAt` may be: a use is written only when the last one written is older
    /// (one write a minute per password, not one per request).
    public static let lastUseGranularity: Int64 = 60_000
}

/// What authenticating with an app password needs: its id, digest and last recorded use.
public struct AppPasswordDigest: Sendable, Equatable {
    /// The password's id.
    public let id: Int64
    /// The SHA-256 of the password, lower-case hex.
    public let digest: String
    /// Its last recorded use.
    public let lastUsedAt: Int64?

    /// A digest row of these parts.
    public init(id: Int64, digest: String, lastUsedAt: Int64?) {
        self.id = id
        self.digest = digest
        self.lastUsedAt = lastUsedAt
    }
}

/// What making an app password did.
public enum AppPasswordCreation: Sendable, Equatable {
    /// Stored.
    case created(AppPassword)
    /// The user has `AppPassword.maximumPerUser` already: nothing stored.
    case tooMany
}

/// One thread's access to the app passwords, scoped to one owner as `TaskStore` is.
public protocol AppPasswordStore: AnyObject {
    /// Stores a password of `userID` named `name` by its `digest`, unless they have the most.
    func createAppPassword(userID: String, name: String, digest: String, now: Int64) throws(StorageError) -> AppPasswordCreation
    /// The user's app passwords, oldest first.
    func appPasswords(userID: String) throws(StorageError) -> [AppPassword]
    /// Deletes one; false when the user has none with that id.
    func deleteAppPassword(userID: String, id: Int64) throws(StorageError) -> Bool
    /// The digests of the user's app passwords, for authentication (read as of now: a deleted
    /// password fails at once, on every host).
    func appPasswordDigests(userID: String) throws(StorageError) -> [AppPasswordDigest]
    /// Records a use of password `id` at `now` when the one recorded is older than
    /// `AppPassword.lastUseGranularity`.
    func recordAppPasswordUse(userID: String, id: Int64, now: Int64) throws(StorageError)
}

/// An app password as `copy` carries it: everything stored, the digest and owner included.
public struct StoredAppPassword: Sendable, Equatable {
    /// The owner.
    public let userID: String
    /// What the owner sees of it (id, name, times).
    public let password: AppPassword
    /// The SHA-256 of the password, hex.
    public let digest: String

    /// A stored app password of these parts.
    public init(userID: String, password: AppPassword, digest: String) {
        self.userID = userID
        self.password = password
        self.digest = digest
    }
}

/// What a read must reflect, which tells a backend with a replica (a PostgreSQL standby,
/// `--read-database`) whether the replica may serve it. Identity is never part of it: every
/// read stays scoped to its owner wherever it runs.
public enum ReadConsistency: Sendable, Equatable {
    /// Every write committed before the read began: the primary serves it.
    case latest
    /// Every change of the reading user up to this change number (the `X-Consistency-Token` of a
    /// write, a sync cursor's position): a replica that shows the user's changes through it may
    /// serve the read, since a snapshot that holds a user's change also holds every earlier one.
    case atLeast(Int64)
}

/// What became of the reads a process offered its replica (`.atLeast` reads, with one configured).
public struct ReplicaReadCounts: Sendable, Equatable {
    /// Served by the replica: it showed the change the read needs.
    public var served = 0
    /// Served by the primary because the replica had not yet shown that change.
    public var behind = 0
    /// Served by the primary because the replica could not be reached or failed the read.
    public var unavailable = 0

    /// No reads yet.
    public init(served: Int = 0, behind: Int = 0, unavailable: Int = 0) {
        self.served = served
        self.behind = behind
        self.unavailable = unavailable
    }
}

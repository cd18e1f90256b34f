import CAtomics

/// This process's gauges in the metrics file, published by one thread about twice a second.
/// `@unchecked Sendable`: a pointer into the shared mapping, written with atomics.
public struct ProcessMetrics: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt64>
    /// Keeps the mapping alive as long as the slot is in use.
    let file: MetricsFile
    /// What a process that had this slot before had counted: added to this one's counts, so a
    /// counter summed over the file never goes backwards when a process is replaced.
    private let carried: [MetricsLayout.ProcessWord: UInt64]

    /// The words that count (summed over dead processes too); the others are gauges.
    static let counterWords: [MetricsLayout.ProcessWord] = [.connectionsAccepted, .requestsShed, .queueWaitNanoseconds,
                                                             .requestsDequeued, .refusedPeers, .busyRetries, .commits,
                                                             .changeWakeUps, .changeWaitTimeouts, .databaseReconnections,
                                                             .databaseFailovers, .standbyReadsServed, .standbyReadsBehind,
                                                             .standbyReadsUnavailable]

    init(base: UnsafeMutablePointer<UInt64>, file: MetricsFile) {
        self.base = base
        self.file = file
        var carried: [MetricsLayout.ProcessWord: UInt64] = [:]
        for word in Self.counterWords { carried[word] = todo_atomic_load(base + word.rawValue) }
        self.carried = carried
    }

    /// A value of this process as of now.
    public struct Sample: Sendable {
        /// Unix seconds when the process started.
        public var startTime: UInt64 = 0
        public var threads: UInt64 = 0
        public var threadsBusy: UInt64 = 0
        public var connectionsOpen: UInt64 = 0
        public var connectionsIdle: UInt64 = 0
        public var requestsQueued: UInt64 = 0
        public var connectionsAccepted: UInt64 = 0
        public var requestsShed: UInt64 = 0
        public var queueWaitNanoseconds: UInt64 = 0
        public var requestsDequeued: UInt64 = 0
        public var refusedPeers: UInt64 = 0
        public var busyRetries: UInt64 = 0
        public var jwksKeys: UInt64 = 0
        /// Unix seconds of the last successful JWKS fetch (0: never, or no JWKS).
        public var jwksLastSuccess: UInt64 = 0
        public var jwksFailures: UInt64 = 0
        public var residentBytes: UInt64 = 0
        public var openDescriptors: UInt64 = 0
        public var databaseBytes: UInt64 = 0
        public var walBytes: UInt64 = 0
        /// Transactions committed (each holds one or more writes: group commit).
        public var commits: UInt64 = 0
        /// Requests answered and waiting for their writes' flush, holding no thread.
        public var requestsParked: UInt64 = 0
        /// Sync requests waiting for their user's next change, holding no thread (contract §13).
        public var changeWaiters: UInt64 = 0
        /// Waiting sync requests woken by a change (their own user's, or one sharing its marker).
        public var changeWakeUps: UInt64 = 0
        /// Waiting sync requests answered empty when their `wait` ran out.
        public var changeWaitTimeouts: UInt64 = 0
        /// Database connections made again after one was lost or its server turned read-only.
        public var databaseReconnections: UInt64 = 0
        /// Of those, the ones that reached another server than before (failover, switchover).
        public var databaseFailovers: UInt64 = 0
        /// Reads with a consistency token the read database served.
        public var standbyReadsServed: UInt64 = 0
        /// Of those offered to it, the ones the primary served: the standby had not replayed the write yet.
        public var standbyReadsBehind: UInt64 = 0
        /// Of those offered to it, the ones the primary served: the standby failed or was unreachable.
        public var standbyReadsUnavailable: UInt64 = 0

        /// An empty sample.
        public init() {}
    }

    /// Publishes `sample` as this process's current values.
    public func publish(_ sample: Sample) {
        let values: [(MetricsLayout.ProcessWord, UInt64)] = [
            (.startTime, sample.startTime), (.threads, sample.threads), (.threadsBusy, sample.threadsBusy),
            (.connectionsOpen, sample.connectionsOpen), (.connectionsIdle, sample.connectionsIdle),
            (.requestsQueued, sample.requestsQueued), (.connectionsAccepted, sample.connectionsAccepted),
            (.requestsShed, sample.requestsShed), (.queueWaitNanoseconds, sample.queueWaitNanoseconds),
            (.requestsDequeued, sample.requestsDequeued), (.refusedPeers, sample.refusedPeers),
            (.busyRetries, sample.busyRetries), (.jwksKeys, sample.jwksKeys), (.jwksLastSuccess, sample.jwksLastSuccess),
            (.jwksFailures, sample.jwksFailures), (.residentBytes, sample.residentBytes),
            (.openDescriptors, sample.openDescriptors), (.databaseBytes, sample.databaseBytes), (.walBytes, sample.walBytes),
            (.commits, sample.commits), (.requestsParked, sample.requestsParked),
            (.changeWaiters, sample.changeWaiters), (.changeWakeUps, sample.changeWakeUps),
            (.changeWaitTimeouts, sample.changeWaitTimeouts),
            (.databaseReconnections, sample.databaseReconnections), (.databaseFailovers, sample.databaseFailovers),
            (.standbyReadsServed, sample.standbyReadsServed), (.standbyReadsBehind, sample.standbyReadsBehind),
            (.standbyReadsUnavailable, sample.standbyReadsUnavailable),
        ]
        for (word, value) in values {
            todo_atomic_store(base + word.rawValue, value &+ (carried[word] ?? 0))
        }
    }
}

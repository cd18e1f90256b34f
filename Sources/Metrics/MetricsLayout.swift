import APITables

/// What every counter is indexed by, and where each lives in a slot of the metrics file. The
/// label sets are closed, so a slot is a fixed array of counters: recording is an index and
/// one relaxed atomic add, and nothing a client sends can grow the file or add a label value.
public enum MetricsLayout {
    /// Route templates (the route table's), then "(none)" for paths that match no route.
    public static let routes = RouteKind.allCases.map(\.template) + [RouteKind.noRouteLabel]
    /// Request methods, then "other".
    public static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "REPORT", "PROPPATCH", "other"]
    /// Response statuses the service produces (the status table's), then 0 for any other.
    public static let statuses = HTTPStatus.produced.map(\.status) + [0]
    /// Upper bounds of the request-duration histogram buckets, in seconds (then +Inf).
    public static let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Why a token was refused (the table's labels, in its order).
    public static let authFailureReasons = AuthFailureReason.allCases.map(\.rawValue)
    /// Kinds of storage failure (the table's labels, in its order).
    public static let storageErrorKinds = StorageFailureKind.allCases.map(\.rawValue)

    /// The index of `value` in `labels`, else the last (catch-all) index.
    static func index<T: Equatable>(of value: T, in labels: [T]) -> Int {
        labels.firstIndex(of: value) ?? labels.count - 1
    }

    // Thread slot: counters one worker thread writes.
    /// A thread slot: its counters, rounded up to whole cache-line multiples (64 words).
    static var threadSlotWords: Int { (threadSlotUsedWords + 63) / 64 * 64 }
    static let claimWord = 0
    static let requestsOffset = 8
    static var requestsCount: Int { routes.count * methods.count * statuses.count }
    static var bucketsOffset: Int { requestsOffset + requestsCount }
    static var bucketsPerRoute: Int { durationBuckets.count + 1 }
    static var durationSumOffset: Int { bucketsOffset + routes.count * bucketsPerRoute }
    static var durationCountOffset: Int { durationSumOffset + routes.count }
    static var authFailuresOffset: Int { durationCountOffset + routes.count }
    static var storageErrorsOffset: Int { authFailuresOffset + authFailureReasons.count }
    static var writesCommittedOffset: Int { storageErrorsOffset + storageErrorKinds.count }
    static var threadSlotUsedWords: Int { writesCommittedOffset + 1 }

    // Process slot: gauges and counters one process publishes (about twice a second).
    static let processSlotWords = 64
    enum ProcessWord: Int, CaseIterable {
        case claim = 0, startTime, threads, threadsBusy, connectionsOpen, connectionsIdle, requestsQueued
        case connectionsAccepted, requestsShed, queueWaitNanoseconds, requestsDequeued, refusedPeers
        case busyRetries, jwksKeys, jwksLastSuccess, jwksFailures, residentBytes, openDescriptors
        case databaseBytes, walBytes, commits, requestsParked, changeWaiters, changeWakeUps, changeWaitTimeouts
        case databaseReconnections, databaseFailovers
        case standbyReadsServed, standbyReadsBehind, standbyReadsUnavailable
    }

    // The file: a header page, then the slots.
    static let magic: UInt64 = 0x746F_646F_6D65_7472  // "todometr"
    static let version: UInt64 = 4
    /// Header words after magic, version and fingerprint: how many thread slots and process
    /// slots were ever claimed. Slots past them are never read, so a process maps (and counts in
    /// its RSS) only the pages of slots in use, not the whole file.
    static let threadSlotsUsedWord = 3
    static let processSlotsUsedWord = 4
    /// Names the layout: every label and size above (FNV-1a), so a build with another route,
    /// status or counter never maps a file of another layout.
    static let fingerprint: UInt64 = {
        var description = "\(routes)|\(methods)|\(statuses)|\(durationBuckets)|\(authFailureReasons)|\(storageErrorKinds)|"
        description += "\(threadSlotWords)|\(processSlotWords)|\(ProcessWord.allCases.count)|\(headerWords)|\(threadSlots)|\(processSlots)"
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in description.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }()
    static let headerWords = 512
    static let threadSlots = 256
    static let processSlots = 64
    /// The word where the process slots begin, after the thread slots.
    static var processSlotsFirstWord: Int { headerWords + threadSlots * threadSlotWords }
    static var fileWords: Int { headerWords + threadSlots * threadSlotWords + processSlots * processSlotWords }
}

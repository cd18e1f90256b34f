import CAtomics

/// The metrics file summed: counters over every slot, gauges over the processes alive.
public struct MetricsSnapshot: Sendable {
    var requests = [UInt64](repeating: 0, count: MetricsLayout.requestsCount)
    var buckets = [UInt64](repeating: 0, count: MetricsLayout.routes.count * MetricsLayout.bucketsPerRoute)
    var durationMicroseconds = [UInt64](repeating: 0, count: MetricsLayout.routes.count)
    var durationCounts = [UInt64](repeating: 0, count: MetricsLayout.routes.count)
    var authFailures = [UInt64](repeating: 0, count: MetricsLayout.authFailureReasons.count)
    var storageErrors = [UInt64](repeating: 0, count: MetricsLayout.storageErrorKinds.count)
    var writesCommitted: UInt64 = 0
    var process = [MetricsLayout.ProcessWord: UInt64]()
    /// Processes alive with a slot.
    var processes: UInt64 = 0
    /// The earliest start time of a live process (unix seconds).
    var startTime: UInt64 = 0
    /// The latest successful JWKS fetch of any live process.
    var jwksLastSuccess: UInt64 = 0

    mutating func add(threadSlot slot: UnsafeMutablePointer<UInt64>) {
        func read(_ offset: Int, into array: inout [UInt64]) {
            for index in array.indices { array[index] &+= todo_atomic_load(slot + offset + index) }
        }
        read(MetricsLayout.requestsOffset, into: &requests)
        read(MetricsLayout.bucketsOffset, into: &buckets)
        read(MetricsLayout.durationSumOffset, into: &durationMicroseconds)
        read(MetricsLayout.durationCountOffset, into: &durationCounts)
        read(MetricsLayout.authFailuresOffset, into: &authFailures)
        read(MetricsLayout.storageErrorsOffset, into: &storageErrors)
        writesCommitted &+= todo_atomic_load(slot + MetricsLayout.writesCommittedOffset)
    }

    mutating func add(processSlot slot: UnsafeMutablePointer<UInt64>, alive: Bool) {
        for word in MetricsLayout.ProcessWord.allCases where word != .claim {
            let value = todo_atomic_load(slot + word.rawValue)
            let isCounter = ProcessMetrics.counterWords.contains(word)
            guard alive || isCounter else { continue }
            switch word {
            case .startTime:
                if value != 0 { startTime = startTime == 0 ? value : min(startTime, value) }
            case .jwksLastSuccess:
                jwksLastSuccess = max(jwksLastSuccess, value)
            case .databaseBytes, .walBytes, .jwksKeys, .jwksFailures:
                // The same file and the same JWKS, seen by every process: not a sum.
                process[word] = max(process[word] ?? 0, value)
            default:
                process[word, default: 0] &+= value
            }
        }
        if alive { processes += 1 }
    }

    /// The number of requests answered with `status` on `route` by `method` (for tests).
    public func requests(route: String, method: String, status: Int) -> UInt64 {
        let routeIndex = MetricsLayout.index(of: route, in: MetricsLayout.routes)
        let methodIndex = MetricsLayout.index(of: method, in: MetricsLayout.methods)
        let statusIndex = MetricsLayout.index(of: status, in: MetricsLayout.statuses)
        return requests[(routeIndex * MetricsLayout.methods.count + methodIndex) * MetricsLayout.statuses.count + statusIndex]
    }
}

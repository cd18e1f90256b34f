import APITables
import CAtomics

/// One worker thread's counters in the metrics file; only that thread records into them.
/// `@unchecked Sendable`: it is a pointer into the shared mapping, written with atomics.
public struct ThreadMetrics: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt64>
    /// Keeps the mapping alive as long as the slot is in use.
    let file: MetricsFile

    /// Counts one answered request: its route template (nil: no route), method, status and
    /// how long it took to answer.
    public func recordRequest(route: String?, method: String, status: Int, seconds: Double) {
        let routeIndex = MetricsLayout.index(of: route ?? "(none)", in: MetricsLayout.routes)
        let methodIndex = MetricsLayout.index(of: method, in: MetricsLayout.methods)
        let statusIndex = MetricsLayout.index(of: status, in: MetricsLayout.statuses)
        let request = (routeIndex * MetricsLayout.methods.count + methodIndex) * MetricsLayout.statuses.count + statusIndex
        todo_atomic_add(base + MetricsLayout.requestsOffset + request, 1)
        let bucket = MetricsLayout.durationBuckets.firstIndex { seconds <= $0 } ?? MetricsLayout.durationBuckets.count
        todo_atomic_add(base + MetricsLayout.bucketsOffset + routeIndex * MetricsLayout.bucketsPerRoute + bucket, 1)
        todo_atomic_add(base + MetricsLayout.durationSumOffset + routeIndex, UInt64(max(seconds, 0) * 1_000_000))
        todo_atomic_add(base + MetricsLayout.durationCountOffset + routeIndex, 1)
    }

    /// Counts a refused token by reason.
    public func recordAuthFailure(reason: AuthFailureReason) {
        let index = AuthFailureReason.allCases.firstIndex(of: reason)!  // every case is in allCases
        todo_atomic_add(base + MetricsLayout.authFailuresOffset + index, 1)
    }

    /// Counts a storage failure by kind.
    public func recordStorageError(kind: StorageFailureKind) {
        let index = StorageFailureKind.allCases.firstIndex(of: kind)!  // every case is in allCases
        todo_atomic_add(base + MetricsLayout.storageErrorsOffset + index, 1)
    }

    /// Counts a write the database committed.
    public func recordCommittedWrite() {
        todo_atomic_add(base + MetricsLayout.writesCommittedOffset, 1)
    }
}

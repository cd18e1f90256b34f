/// The Prometheus text exposition format, version 0.0.4.
extension MetricsSnapshot {
    /// The content type of `prometheusText`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric with its HELP and TYPE lines. Label values come only from the closed sets of
    /// `MetricsLayout` (and `version`): never a user id, a path, a token or task data.
    public func prometheusText(version: String) -> String {
        var text = PrometheusTextWriter()
        writeRequests(to: &text)
        writeProcesses(to: &text)
        writeTokensAndStorage(to: &text)
        text.single("todo_processes", "gauge", "Worker processes alive.", String(processes))
        text.single("todo_process_start_time_seconds", "gauge", "Unix time the oldest live worker process started.", String(startTime))
        text.single("todo_process_resident_memory_bytes", "gauge", "Resident memory of the worker processes.", gauge(.residentBytes))
        text.single("todo_process_open_fds", "gauge", "Open file descriptors of the worker processes.", gauge(.openDescriptors))
        text.family("todo_build_info", "gauge", "The running build (always 1).")
        text.sample("todo_build_info", [("version", version)], "1")
        return text.text
    }

    /// A process word summed over the processes, as text.
    private func gauge(_ word: MetricsLayout.ProcessWord) -> String { String(process[word] ?? 0) }

    /// Requests by route, method and status, and the duration histogram by route.
    private func writeRequests(to text: inout PrometheusTextWriter) {
        let routes = MetricsLayout.routes, methods = MetricsLayout.methods, statuses = MetricsLayout.statuses
        text.family("todo_requests_total", "counter", "Requests answered, by route template, method and status.")
        for (r, route) in routes.enumerated() {
            for (m, method) in methods.enumerated() {
                for (s, status) in statuses.enumerated() {
                    let count = requests[(r * methods.count + m) * statuses.count + s]
                    guard count > 0 else { continue }
                    text.sample("todo_requests_total", [("method", method), ("route", route), ("status", status == 0 ? "other" : String(status))], String(count))
                }
            }
        }
        text.family("todo_request_duration_seconds", "histogram", "Time to answer a request in the worker, by route template.")
        for (r, route) in routes.enumerated() where durationCounts[r] > 0 {
            var cumulative: UInt64 = 0
            for b in 0..<MetricsLayout.bucketsPerRoute {
                cumulative &+= buckets[r * MetricsLayout.bucketsPerRoute + b]
                let bound = b < MetricsLayout.durationBuckets.count ? Self.number(MetricsLayout.durationBuckets[b]) : "+Inf"
                text.sample("todo_request_duration_seconds_bucket", [("route", route), ("le", bound)], String(cumulative))
            }
            text.sample("todo_request_duration_seconds_sum", [("route", route)], Self.number(Double(durationMicroseconds[r]) / 1_000_000))
            text.sample("todo_request_duration_seconds_count", [("route", route)], String(durationCounts[r]))
        }
    }

    /// Threads, connections, queues, parked requests and live sync.
    private func writeProcesses(to text: inout PrometheusTextWriter) {
        text.single("todo_threads", "gauge", "Worker threads, over all processes.", gauge(.threads))
        text.single("todo_threads_busy", "gauge", "Worker threads answering a request now.", gauge(.threadsBusy))
        text.single("todo_connections_open", "gauge", "Connections from the web server held open, idle ones included.", gauge(.connectionsOpen))
        text.single("todo_connections_idle", "gauge", "Kept-alive connections waiting for their next request.", gauge(.connectionsIdle))
        text.single("todo_requests_queued", "gauge", "Requests waiting for a free worker thread.", gauge(.requestsQueued))
        text.single("todo_requests_parked", "gauge", "Requests answered and waiting for their writes' flush, holding no thread.", gauge(.requestsParked))
        text.single("todo_sync_waiters", "gauge", "Sync requests waiting for their user's next change, holding no thread.", gauge(.changeWaiters))
        text.single("todo_sync_wakeups_total", "counter", "Waiting sync requests woken by a change.", gauge(.changeWakeUps))
        text.single("todo_sync_wait_timeouts_total", "counter", "Waiting sync requests answered empty when their wait ran out.", gauge(.changeWaitTimeouts))
        text.single("todo_connections_accepted_total", "counter", "Connections accepted from the web server.", gauge(.connectionsAccepted))
        text.single("todo_queue_wait_seconds_total", "counter", "Time requests waited for a free thread, summed.", Self.number(Double(process[.queueWaitNanoseconds] ?? 0) / 1e9))
        text.single("todo_queue_requests_total", "counter", "Requests taken from the queue by a thread (the count behind todo_queue_wait_seconds_total).", gauge(.requestsDequeued))
        text.single("todo_requests_shed_total", "counter", "Requests answered 503 overloaded after waiting longer than the queue timeout.", gauge(.requestsShed))
        text.single("todo_peers_refused_total", "counter", "TCP connections closed because the peer is not in FCGI_WEB_SERVER_ADDRS.", gauge(.refusedPeers))
    }

    /// Token refusals, the JWKS, storage failures, writes and the database's size.
    private func writeTokensAndStorage(to text: inout PrometheusTextWriter) {
        text.family("todo_auth_failures_total", "counter", "Requests refused for their token, by RFC 6750 reason.")
        for (index, reason) in MetricsLayout.authFailureReasons.enumerated() {
            text.sample("todo_auth_failures_total", [("reason", reason)], String(authFailures[index]))
        }
        text.single("todo_jwks_keys", "gauge", "Keys loaded from the JWKS (the most any process holds).", gauge(.jwksKeys))
        text.single("todo_jwks_last_success_timestamp_seconds", "gauge", "Unix time of the last successful JWKS fetch (0: none).", String(jwksLastSuccess))
        text.single("todo_jwks_fetch_failures", "gauge", "JWKS fetches failed in a row since the last success (the most of any process).", gauge(.jwksFailures))
        text.family("todo_storage_errors_total", "counter", "Requests that met a storage failure, by kind.")
        for (index, kind) in MetricsLayout.storageErrorKinds.enumerated() {
            text.sample("todo_storage_errors_total", [("kind", kind)], String(storageErrors[index]))
        }
        text.single("todo_storage_busy_retries_total", "counter", "Times a connection waited for another process's write lock.", gauge(.busyRetries))
        text.single("todo_writes_committed_total", "counter", "Writes the database committed.", String(writesCommitted))
        text.single("todo_commits_total", "counter", "Transactions committed; writes per commit is todo_writes_committed_total over this (group commit).", gauge(.commits))
        text.single("todo_database_reconnections_total", "counter",
                    "Database connections made again after one was lost or its server turned read-only (PostgreSQL).", gauge(.databaseReconnections))
        text.single("todo_database_failovers_total", "counter",
                    "Reconnections that reached another server than the process's previous connection: a failover or switchover.",
                    gauge(.databaseFailovers))
        text.family("todo_standby_reads_total", "counter",
                    "Reads with a consistency token offered to the read database, by where they went (PostgreSQL --read-database).")
        for (outcome, word) in [("served", MetricsLayout.ProcessWord.standbyReadsServed), ("behind", .standbyReadsBehind),
                                ("unavailable", .standbyReadsUnavailable)] {
            text.sample("todo_standby_reads_total", [("outcome", outcome)], gauge(word))
        }
        text.single("todo_database_bytes", "gauge", "Size of the database file.", gauge(.databaseBytes))
        text.single("todo_database_wal_bytes", "gauge", "Size of the database's write-ahead log.", gauge(.walBytes))
    }

    /// A float as Prometheus reads it: no exponent for the bucket bounds, shortest otherwise.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// The text of the exposition as it is written: families (HELP and TYPE lines) and samples.
struct PrometheusTextWriter {
    private(set) var text = ""

    /// A family's HELP and TYPE lines.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// One sample line, with its labels in the order given.
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
        let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
        text += "\(name)\(rendered) \(value)\n"
    }

    /// A family of one unlabelled sample.
    mutating func single(_ name: String, _ type: String, _ help: String, _ value: String) {
        family(name, type, help)
        sample(name, [], value)
    }
}

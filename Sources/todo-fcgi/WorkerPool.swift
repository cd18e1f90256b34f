import FastCGI
import JWT
import SQLite
import Synchronization
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// N threads, each with its own FastCGI request, SQLite connection and application,
/// looping accept → handle → finish until shutdown.
final class WorkerPool: Sendable {
    /// Phases of a worker, read by the main thread to decide whom it may interrupt.
    enum Phase: Int {
        /// Setting up, or between requests.
        case starting = 0
        /// Blocked accepting a new connection: safe to interrupt, nothing is lost.
        case accepting = 1
        /// Polling a kept-alive connection for its next request: safe to interrupt too.
        case idleOnKeptConnection = 2
        /// Reading or handling a request: never interrupted.
        case busy = 3
        case stopped = 4
    }

    /// How long shutdown leaves kept-alive connections to nginx before closing them itself.
    /// nginx closes idle ones on its own (`keepalive_timeout 4s` in our upstream blocks), and
    /// only a close by nginx is free of the race with a request it has just sent (which nginx
    /// would answer 502 and, for a POST, not retry).
    static let keptConnectionGrace: Double = 5

    private final class WorkerState: Sendable {
        let phase = Atomic<Int>(Phase.starting.rawValue)
    }

    private let configuration: ServerConfiguration
    private let socket: Int32
    private let stopping = Atomic<Bool>(false)
    private let states: [WorkerState]
    private let writeGate = WriteGate()
    /// The token settings in force; replaced on SIGHUP. Workers compare `generation`
    /// (one atomic load per request) and rebuild their authenticator when it moved.
    private let jwt: Mutex<JWTConfiguration>
    private let generation = Atomic<Int>(0)
    /// When shutdown stops waiting for nginx to close kept connections (ms since the epoch).
    private let graceDeadline = Atomic<Int64>(.max)

    init(configuration: ServerConfiguration, socket: Int32) {
        self.configuration = configuration
        self.socket = socket
        self.states = (0..<configuration.threads).map { _ in WorkerState() }
        self.jwt = Mutex(configuration.jwt)
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish and returns.
    /// On SIGHUP it calls `reload` and, when that succeeds, switches every thread to the new token settings.
    func run(reload: () -> JWTConfiguration?) {
        let threads = states.map { state in
            WorkerThread { [self] in self.work(state: state) }
        }
        while true {
            let signal = Signals.waitForProcessSignal()
            guard signal == SIGHUP else { break }
            if let fresh = reload() {
                jwt.withLock { $0 = fresh }
                generation.add(1, ordering: .sequentiallyConsistent)
                Log.write(.warn, "SIGHUP: reloaded the token settings; requests from now on use them")
            }
        }
        Log.write(.warn, "shutting down: no new requests, finishing those in flight")
        graceDeadline.store(WallClock.milliseconds() + Int64(Self.keptConnectionGrace * 1000), ordering: .sequentiallyConsistent)
        stopping.store(true, ordering: .sequentiallyConsistent)
        FastCGI.markShutdownPending()
        // Wake workers that are waiting (in accept, or polling a kept connection): they see the
        // flag and stop, or keep serving their kept connection until nginx closes it or the
        // grace period ends. A busy worker finishes its request first. Repeat, because a worker
        // may be between its phase change and the blocking call.
        while states.contains(where: { $0.phase.load(ordering: .sequentiallyConsistent) != Phase.stopped.rawValue }) {
            for (index, state) in states.enumerated() {
                let phase = state.phase.load(ordering: .sequentiallyConsistent)
                if phase == Phase.accepting.rawValue || phase == Phase.idleOnKeptConnection.rawValue {
                    threads[index].interrupt(with: Signals.wake)
                }
            }
            usleep(20_000)
        }
        threads.forEach { $0.join() }
        Log.write(.warn, "stopped")
    }

    private func makeApplication(store: TaskStore) throws -> (TodoApplication, Int) {
        let seen = generation.load(ordering: .sequentiallyConsistent)
        let settings = jwt.withLock { $0 }
        let application = TodoApplication(authenticator: try Authenticator(configuration: settings), store: store,
                                          cors: configuration.cors, log: Log.line)
        return (application, seen)
    }

    private func work(state: WorkerState) {
        defer { state.phase.store(Phase.stopped.rawValue, ordering: .sequentiallyConsistent) }
        Signals.unblockWakeInCurrentThread()
        let slot: FastCGIRequest
        let store: TaskStore
        var application: TodoApplication
        var seenGeneration: Int
        do {
            slot = try FastCGIRequest(socket: socket)
            let file = DatabaseFile(options: configuration.database)
            store = TaskStore(connection: try file.open(), writeGate: writeGate, file: file)
            (application, seenGeneration) = try makeApplication(store: store)
        } catch {
            Log.line("worker failed to start: \(error)")
            return
        }
        var errorStreak = 0
        while true {
            let stoppingNow = stopping.load(ordering: .sequentiallyConsistent)
            state.phase.store(Phase.idleOnKeptConnection.rawValue, ordering: .sequentiallyConsistent)
            switch slot.waitOnKeptConnection(timeoutMilliseconds: stoppingNow ? 50 : -1) {
            case .idle:
                // A wake signal or the stopping poll interval: serve on, unless the grace is over.
                if stoppingNow, WallClock.milliseconds() > graceDeadline.load(ordering: .sequentiallyConsistent) { return }
                continue
            case .requestPending:
                state.phase.store(Phase.busy.rawValue, ordering: .sequentiallyConsistent)
            case .closedByPeer, .none:
                if stoppingNow { return }
                state.phase.store(Phase.accepting.rawValue, ordering: .sequentiallyConsistent)
                if stopping.load(ordering: .sequentiallyConsistent) { return }
            }
            do {
                try slot.accept()
            } catch {
                if stopping.load(ordering: .sequentiallyConsistent) { return }
                // EINTR from a stray wake signal is expected; anything else is worth a line, then a pause.
                if error.code != -EINTR {
                    errorStreak += 1
                    Log.line("accept failed: \(error)")
                    usleep(UInt32(min(errorStreak, 50)) * 10_000)
                }
                continue
            }
            errorStreak = 0
            state.phase.store(Phase.busy.rawValue, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) != seenGeneration {
                do {
                    (application, seenGeneration) = try makeApplication(store: store)
                } catch {
                    Log.line("reloading the token settings failed, keeping the previous ones: \(error)")
                }
            }
            serve(slot, application)
            slot.finish()
        }
    }

    private func serve(_ slot: FastCGIRequest, _ application: TodoApplication) {
        let started = Self.monotonicMicroseconds()
        var builder = CGIRequestBuilder()
        slot.forEachParameter { name, value in builder.add(name: name, value: value) }
        let body = slot.readBody(limit: TodoApplication.maximumBodySize, expected: builder.announcedLength ?? 0)
        let request = builder.build(body: body.bytes, bodyExceededLimit: body.exceededLimit)
        let response = application.respond(to: request)
        do {
            try slot.write(response.cgiHeader())
            if !response.body.isEmpty { try slot.write(response.body) }
        } catch {
            // The web server went away mid-response; nothing is left to tell it.
            Log.write(.warn, "writing the response failed: \(error)")
        }
        if Log.enabled(.info) {
            // Never the token or the user id itself: a short hash identifies a user across lines.
            let user = response.authenticatedUser.map { SHA256.hexPrefix(of: $0.utf8) } ?? "-"
            let elapsed = Self.monotonicMicroseconds() - started
            Log.info("\(request.method) \(response.routeTemplate ?? "(no route)") \(response.status) \(elapsed)us user=\(user)")
        }
    }

    private static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

import Dispatcher
import FastCGI
import JWT
import SQLite
import Synchronization
import TodoAPI

#if canImport(Glibc)
import Glibc
import Clocks
#endif

/// A dispatcher thread and N worker threads. The dispatcher holds the listening socket and every
/// idle connection; each worker has its own FastCGI request slot, SQLite connection and
/// application, and loops: take a connection with a request ready → answer → hand it back.
final class WorkerPool: Sendable {
    /// How long shutdown leaves idle kept-alive connections to nginx before closing them itself.
    /// nginx closes idle ones on its own (`keepalive_timeout 4s` in our upstream blocks), and
    /// only a close by nginx is free of the race with a request it has just sent (which nginx
    /// would answer 502 and, for a POST, not retry).
    static let keptConnectionGrace: Double = 5

    private let configuration: ServerConfiguration
    private let dispatcher: ConnectionDispatcher
    /// The token settings in force; replaced on SIGHUP. Workers compare `generation`
    /// (one atomic load per request) and rebuild their authenticator when it moved.
    private let jwt: Mutex<JWTConfiguration>
    private let generation = Atomic<Int>(0)
    /// Workers that finished starting, and how many of them failed.
    private let started = Atomic<Int>(0)
    private let failedToStart = Atomic<Int>(0)
    /// Set when the pool stops: the key refresher then returns.
    private let stopping = Atomic<Bool>(false)
    /// Set when the dispatcher loop failed: the process then exits non-zero.
    private let dispatcherFailed = Atomic<Bool>(false)

    init(configuration: ServerConfiguration, socket: Int32) throws {
        self.configuration = configuration
        self.jwt = Mutex(configuration.jwt)
        self.dispatcher = try ConnectionDispatcher(listeningSockets: [socket], settings: configuration.dispatcher,
                                                   log: Log.error)
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, lets requests already sent finish and
    /// returns 0. On SIGHUP it calls `reload` and, when that succeeds, switches every thread to the
    /// new token settings. Returns 1 at once if a worker thread cannot start (so a supervisor
    /// restarts the service rather than leave a socket nobody serves), or if the dispatcher fails.
    func run(reload: () -> JWTConfiguration?) -> Int32 {
        let dispatcherThread = WorkerThread { [self] in
            do {
                try dispatcher.run()
            } catch {
                Log.error("the connection dispatcher failed: \(error)")
                dispatcherFailed.store(true, ordering: .sequentiallyConsistent)
                kill(getpid(), SIGTERM)
            }
        }
        let threads = (0..<configuration.threads).map { _ in WorkerThread { [self] in work() } }
        let keyRefresher = WorkerThread { [self] in refreshKeys() }
        while started.load(ordering: .sequentiallyConsistent) < threads.count { usleep(1000) }
        let failures = failedToStart.load(ordering: .sequentiallyConsistent)
        if failures == 0 {
            while true {
                let signal = Signals.waitForProcessSignal()
                guard signal == SIGHUP else { break }
                if let fresh = reload() {
                    jwt.withLock { $0 = fresh }
                    generation.add(1, ordering: .sequentiallyConsistent)
                    Log.notice("SIGHUP: reloaded the token settings; requests from now on use them")
                }
            }
            Log.notice("shutting down: no new connections, finishing the requests sent")
        } else {
            Log.error("\(failures) of \(threads.count) worker threads failed to start; exiting")
        }
        dispatcher.stop(graceSeconds: failures == 0 ? Self.keptConnectionGrace : 0)
        stopping.store(true, ordering: .sequentiallyConsistent)
        dispatcherThread.join()
        threads.forEach { $0.join() }
        keyRefresher.join()
        if failures > 0 || dispatcherFailed.load(ordering: .sequentiallyConsistent) { return 1 }
        Log.notice("stopped")
        return 0
    }

    /// Keeps the JWKS fresh off the request path: a key removed at the source stops verifying new
    /// tokens within `JWKS_MAX_AGE` even if no token ever names an unknown key. Checks twice a
    /// second (a cheap lock when nothing is due); the fetch itself is bounded by its timeouts.
    private func refreshKeys() {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            (jwt.withLock { $0.keys } as? JWKSKeyStore)?.refreshIfDue()
            usleep(500_000)
        }
    }

    private func makeApplication(store: any TaskStore) throws -> (TodoApplication, Int) {
        let seen = generation.load(ordering: .sequentiallyConsistent)
        let settings = jwt.withLock { $0 }
        let application = TodoApplication(authenticator: try Authenticator(configuration: settings), store: store,
                                          cors: configuration.cors, log: Log.error)
        return (application, seen)
    }

    private func work() {
        let slot: FastCGIRequest
        let store: any TaskStore
        var application: TodoApplication
        var seenGeneration: Int
        do {
            slot = try FastCGIRequest()
            store = try configuration.backend.makeStore()
            (application, seenGeneration) = try makeApplication(store: store)
        } catch {
            Log.error("worker failed to start: \(error)")
            failedToStart.add(1, ordering: .sequentiallyConsistent)
            started.add(1, ordering: .sequentiallyConsistent)
            return
        }
        started.add(1, ordering: .sequentiallyConsistent)
        while let connection = dispatcher.nextConnection() {
            do {
                try slot.read(from: connection.descriptor)
            } catch {
                // The peer closed or sent no valid request; libfcgi has closed the connection.
                Log.write(.debug, "reading a request failed: \(error)")
                dispatcher.finished(keptDescriptor: nil)
                continue
            }
            if generation.load(ordering: .relaxed) != seenGeneration {
                do {
                    (application, seenGeneration) = try makeApplication(store: store)
                } catch {
                    Log.error("reloading the token settings failed, keeping the previous ones: \(error)")
                }
            }
            serve(slot, application, connection: connection)
            dispatcher.finished(keptDescriptor: slot.finish())
        }
    }

    /// Answers the request on `slot`; one that waited too long for a thread gets 503 at once
    /// (its body is still read, so the kept connection stays in step).
    private func serve(_ slot: FastCGIRequest, _ application: TodoApplication, connection: ReadyConnection) {
        let began = MonotonicClock.nanoseconds()
        var builder = CGIRequestBuilder()
        slot.forEachParameter { name, value in builder.add(name: name, value: value) }
        let limit = connection.isOverdue ? 0 : HTTPRequest.maximumBodySize
        let body = slot.readBody(limit: limit, expected: builder.announcedLength ?? 0)
        let request = builder.build(body: body.bytes, bodyExceededLimit: body.exceededLimit)
        let reply = connection.isOverdue ? application.overloaded(request) : application.respond(to: request)
        let response = reply.response
        do {
            try slot.write(response.cgiHeader())
            if !response.body.isEmpty { try slot.write(response.body) }
        } catch {
            // The web server went away mid-response; nothing is left to tell it.
            Log.write(.warn, "writing the response failed: \(error)")
        }
        if Log.enabled(.info) {
            // Never the token or the user id itself: a short hash identifies a user across lines.
            let user = reply.authenticatedUser.map { SHA256.hexPrefix(of: $0.utf8) } ?? "-"
            let elapsed = (MonotonicClock.nanoseconds() - began) / 1000
            let waited = connection.waitedNanoseconds / 1000
            Log.info("\(request.method) \(reply.routeTemplate ?? "(no route)") \(response.status) \(elapsed)us queued=\(waited)us user=\(user)")
        }
    }
}

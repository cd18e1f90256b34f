import Locks
import SQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Copies the write-ahead log into the database file on a thread of its own, so no request
/// waits for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold: that commit
/// (a group commit's leader, with every write of the next group waiting behind it) then syncs
/// the WAL, copies it and syncs the database file — two flushes, 1–10 ms on a server's disk and
/// seconds on a struggling one. Serving connections therefore checkpoint only as a backstop
/// (`backstopPages`, if this thread cannot keep up or fails), and this thread runs a PASSIVE
/// checkpoint (it never waits for readers or writers, and holds no lock they need) whenever the
/// WAL has changed, at most every `interval`. One per process while any store of the backend
/// lives (`SQLiteTaskStore` holds it); several processes' checkpointers take turns (a busy one
/// is skipped). Durability is unchanged: a checkpoint syncs the WAL before copying from it.
final class WALCheckpointer: Sendable {
    /// The automatic-checkpoint threshold left on serving connections: about 40 MiB of WAL.
    static let backstopPages = 10_000
    /// The least time between two checkpoints: each one that copies the whole WAL lets the next
    /// writer start it over, and SQLite syncs a restarted WAL's header inside the write lock.
    static let intervalMicroseconds: useconds_t = 1_000_000

    private final class State: Sendable {
        let stopping = Atomic<Bool>(false)
        /// Checkpoints run that left frames in the database file, for tests.
        let checkpoints = Atomic<Int>(0)
    }

    private let state = State()
    private let thread: WorkerThread

    /// Starts checkpointing the database `options` names.
    init(options: TaskDatabase.Options) {
        let state = state
        thread = WorkerThread { Self.run(options: options, state: state) }
    }

    deinit {
        state.stopping.store(true, ordering: .relaxed)
        thread.join()
    }

    /// Checkpoints run so far that left WAL frames in the database file.
    var checkpoints: Int { state.checkpoints.load(ordering: .relaxed) }

    private static func run(options: TaskDatabase.Options, state: State) {
        let file = DatabaseFile(options: options)
        let identity = file.currentIdentity()
        var connection: SQLiteConnection?
        var lastSeen: WALVersion?
        while !state.stopping.load(ordering: .relaxed) {
            // In short naps, so a stop (the backend's last store released) waits 10 ms at most.
            for _ in 0..<(intervalMicroseconds / 10_000) where !state.stopping.load(ordering: .relaxed) { usleep(10_000) }
            // A WAL unchanged since the last checkpoint has nothing to copy.
            var status = stat()
            guard stat(options.path + "-wal", &status) == 0 else { continue }
            let seen = WALVersion(size: Int(status.st_size), seconds: status.st_mtim.tv_sec, nanoseconds: status.st_mtim.tv_nsec)
            guard seen != lastSeen else { continue }
            // A replaced file is not ours to checkpoint (see `SQLiteTaskStore.ensureCurrentFile`).
            guard identity != nil, file.currentIdentity() == identity else { continue }
            do {
                if connection == nil {
                    connection = try TaskDatabase.open(options, migrate: false)
                    connection?.setBusyTimeout(milliseconds: 0)
                }
                if try connection?.checkpointPassively() ?? 0 > 0 { state.checkpoints.add(1, ordering: .relaxed) }
                lastSeen = seen
            } catch {
                // Tried again at the next change; meanwhile the serving connections' backstop holds.
                connection = nil
            }
        }
    }
}

/// What tells a changed WAL file: its size and modification time.
private struct WALVersion: Equatable {
    let size: Int
    let seconds: Int
    let nanoseconds: Int
}

/// The checkpointer of one backend: made with its first store, kept while any store holds it.
final class SharedCheckpointer: Sendable {
    /// A weak reference, so the stores alone keep the checkpointer (and its thread) alive.
    private final class Reference: @unchecked Sendable {
        weak var checkpointer: WALCheckpointer?
    }

    private let current = Locked(Reference())
    private let options: TaskDatabase.Options

    init(options: TaskDatabase.Options) {
        self.options = options
    }

    /// The running checkpointer, started if none is.
    func acquire() -> WALCheckpointer {
        current.withLock { reference in
            if let running = reference.checkpointer { return running }
            let started = WALCheckpointer(options: options)
            reference.checkpointer = started
            return started
        }
    }
}

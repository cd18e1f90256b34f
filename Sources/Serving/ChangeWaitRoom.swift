import Clocks
import FastCGI
import Locks
import Synchronization
import TaskModel
import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

/// A sync request waiting for its user's next change (contract §13): its connection (detached
/// from libfcgi: no slot is held while it waits), the request to answer again, and when to give
/// up. No thread holds it while it waits.
///
/// `@unchecked Sendable`: it is touched by one thread at a time, handed over through the room's
/// lock or the dispatcher's queue; `marker` and `final` change only under the room's lock or
/// while a worker holds it.
final class ChangeWaiter: @unchecked Sendable {
    /// The request, with the empty page it answers if no change comes.
    let pending: PendingRequest
    let user: AuthenticatedUser
    var descriptor: Int32 { pending.connection.descriptor }
    /// When the wait ends with an empty page (`MonotonicClock` nanoseconds).
    let deadline: UInt64
    /// The user's marker when the database was last read: the wait ends when it moves.
    var marker: UInt64
    /// Set when the wait is over (timed out, or the process stops): the next answer is final.
    var final = false

    init(_ pending: PendingRequest, user: AuthenticatedUser, deadline: UInt64, marker: UInt64) {
        self.pending = pending
        self.user = user
        self.deadline = deadline
        self.marker = marker
    }
}

/// Where a process's sync requests wait for their users' changes. A waiter is admitted with
/// the marker it read before the database; the room's thread (`run`) sleeps on the change feed
/// and hands every waiter whose marker moved, or whose time is up, back to the workers through
/// `resume`. Whoever takes a waiter out of the room (a change, its deadline, its client hanging
/// up, the process stopping) owns it: each waiter leaves exactly once.
final class ChangeWaitRoom: Sendable {
    /// What `admit` did with a waiter.
    enum Admission: Equatable {
        /// It waits in the room.
        case waiting
        /// Its marker moved since it read the database: read again (it is not in the room).
        case changedAlready
        /// The room holds `capacity` waiters: answer 503 `wait_room_full`.
        case full
        /// Its user already has `perUserCapacity` waiters here: answer 429 `too_many_waits`.
        case userShareTaken
        /// The process is stopping: answer now.
        case closing
    }

    /// Why a waiter left the room, for `resume`.
    enum Departure {
        case changed, expired, stopping
    }

    private struct State {
        var waiters: [UInt64: ChangeWaiter] = [:]
        var byKey: [ChangeKey: [UInt64]] = [:]
        var byDescriptor: [Int32: UInt64] = [:]
        /// Waiters per user id (not per change key: users may share a key's bucket).
        var perUser: [String: Int] = [:]
        var deadlines = DeadlineHeap()
        var nextSerial: UInt64 = 0
        var stopping = false

        mutating func insert(_ waiter: ChangeWaiter) {
            nextSerial += 1
            waiters[nextSerial] = waiter
            byKey[waiter.user.changeKey, default: []].append(nextSerial)
            byDescriptor[waiter.descriptor] = nextSerial
            perUser[waiter.user.id, default: 0] += 1
            deadlines.insert(waiter.deadline, nextSerial)
        }

        mutating func remove(_ serial: UInt64) -> ChangeWaiter? {
            guard let waiter = waiters.removeValue(forKey: serial) else { return nil }
            let key = waiter.user.changeKey
            byKey[key]?.removeAll { $0 == serial }
            if byKey[key]?.isEmpty == true { byKey.removeValue(forKey: key) }
            byDescriptor.removeValue(forKey: waiter.descriptor)
            if let count = perUser[waiter.user.id], count > 1 {
                perUser[waiter.user.id] = count - 1
            } else {
                perUser.removeValue(forKey: waiter.user.id)
            }
            return waiter
        }
    }

    /// The longest the room's thread sleeps: a waiter admitted meanwhile with a marker already
    /// moved, or a wake-up lost anywhere, costs at most this, and deadlines are kept to it.
    static let sweepNanoseconds: UInt64 = 100_000_000
    /// The least time between two sweeps (more when a sweep takes long: ten times its length, at
    /// most 20 ms), which bounds the thread's work under a storm of commits.
    static let minimumGapNanoseconds: UInt64 = 1_000_000

    let feed: any ChangeFeed
    /// Waiters held at most (`--max-waiters`, capped below the connection limit).
    let capacity: Int
    /// Waiters of one user held at most (`--max-waits-per-user`): one user cannot fill the room.
    let perUserCapacity: Int
    private let state = Locked(State())
    /// Where the room's thread sleeps while no one waits: not on the feed, so that commits
    /// (announced to every process) wake no thread, nor cost a wake-up system call, until someone waits.
    private let admissions = LocalChangeFeed()
    /// Starts watching a waiter's connection for a hang-up (under the room's lock, so a
    /// hang-up is never reported for a waiter not yet in the room).
    private let watch: @Sendable (Int32) -> Void
    /// Waiting now; woken by a change; ended by their deadline (for the metrics).
    let waiting = Atomic<Int>(0)
    let wokenByChange = Atomic<UInt64>(0)
    let timedOut = Atomic<UInt64>(0)

    init(feed: any ChangeFeed, capacity: Int, perUserCapacity: Int, watch: @escaping @Sendable (Int32) -> Void) {
        self.feed = feed
        self.capacity = capacity
        self.perUserCapacity = perUserCapacity
        self.watch = watch
    }

    /// Lets `waiter` wait, unless its marker already moved, its user's share is taken, or the
    /// room is full or closing.
    func admit(_ waiter: ChangeWaiter) -> Admission {
        state.withLock { state in
            if state.stopping { return .closing }
            if state.perUser[waiter.user.id, default: 0] >= perUserCapacity { return .userShareTaken }
            if state.waiters.count >= capacity { return .full }
            if feed.marker(of: waiter.user.changeKey) != waiter.marker { return .changedAlready }
            state.insert(waiter)
            // The first waiter wakes the room's thread, which sleeps apart from the feed while empty.
            if state.waiters.count == 1 { admissions.publish(ChangeKey(value: 0)) }
            waiting.store(state.waiters.count, ordering: .relaxed)
            watch(waiter.descriptor)
            return .waiting
        }
    }

    /// Takes out the waiter on connection `descriptor` (its client hung up), if it is still here.
    func claim(descriptor: Int32) -> ChangeWaiter? {
        state.withLock { state in
            guard let serial = state.byDescriptor[descriptor], let waiter = state.remove(serial) else { return nil }
            waiting.store(state.waiters.count, ordering: .relaxed)
            return waiter
        }
    }

    /// Sleeps on the feed and hands over every waiter whose marker moved or whose deadline
    /// passed; after `stop`, hands over every waiter and returns.
    func run(resume: (ChangeWaiter, Departure) -> Void) {
        var seen: UInt64 = 0
        var admitted: UInt64 = 0
        var lastSweepEnded: UInt64 = 0
        var gap = Self.minimumGapNanoseconds
        while true {
            var now = MonotonicClock.nanoseconds()
            // Under a storm of commits every sleep ends at once: sweeps (each comparing every
            // waiting user's marker) are spaced so they take at most a tenth of this thread.
            if now < lastSweepEnded &+ gap {
                usleep(UInt32((lastSweepEnded &+ gap &- now) / 1000))
                now = MonotonicClock.nanoseconds()
            }
            let (nextDeadline, empty) = state.withLock { state in
                // With no one waiting, every deadline left is of a waiter gone (they go lazily).
                if state.waiters.isEmpty { state.deadlines = DeadlineHeap() }
                return (state.deadlines.earliest ?? .max, state.waiters.isEmpty && !state.stopping)
            }
            let sleep = min(Self.sweepNanoseconds, nextDeadline &- min(nextDeadline, now))
            if empty {
                // An admission since the last look returns at once: no first waiter is missed.
                admitted = admissions.awaitChange(after: admitted, timeoutNanoseconds: sleep)
                continue
            }
            seen = feed.awaitChange(after: seen, timeoutNanoseconds: sleep)
            let began = MonotonicClock.nanoseconds()
            let (due, finished) = takeDue(now: began)
            lastSweepEnded = MonotonicClock.nanoseconds()
            gap = min(max(Self.minimumGapNanoseconds, (lastSweepEnded - began) * 10), 20_000_000)
            for (waiter, departure) in due {
                switch departure {
                case .changed: wokenByChange.add(1, ordering: .relaxed)
                case .expired: timedOut.add(1, ordering: .relaxed)
                case .stopping: break
                }
                resume(waiter, departure)
            }
            if finished { return }
        }
    }

    /// Answers every waiter now (each with what its cursor finds, usually the empty page), and
    /// admits no more: for a stopping process. `run` hands them over and returns.
    func stop() {
        state.withLock { $0.stopping = true }
    }

    /// The waiters due now, taken out of the room; true once stopping and all are out.
    private func takeDue(now: UInt64) -> ([(ChangeWaiter, Departure)], Bool) {
        state.withLock { state in
            var due: [(ChangeWaiter, Departure)] = []
            if state.stopping {
                for serial in Array(state.waiters.keys) {
                    if let waiter = state.remove(serial) { due.append((waiter, .stopping)) }
                }
            } else {
                while let (deadline, serial) = state.deadlines.popEarliest(notAfter: now) {
                    // A waiter may have left already (its entry stays in the heap): skipped.
                    if let waiter = state.waiters[serial], waiter.deadline == deadline, let taken = state.remove(serial) {
                        due.append((taken, .expired))
                    }
                }
                for (key, serials) in state.byKey {
                    let marker = feed.marker(of: key)
                    for serial in serials where state.waiters[serial]?.marker != marker {
                        if let waiter = state.remove(serial) { due.append((waiter, .changed)) }
                    }
                }
            }
            for (waiter, departure) in due where departure != .changed { waiter.final = true }
            waiting.store(state.waiters.count, ordering: .relaxed)
            // Once stopping, every waiter is out after this sweep: the room is done.
            return (due, state.stopping)
        }
    }
}

/// Deadlines in a binary min-heap: the earliest is always at hand, whatever the number waiting.
struct DeadlineHeap {
    private var items: [(deadline: UInt64, serial: UInt64)] = []

    /// The earliest deadline, if any.
    var earliest: UInt64? { items.first?.deadline }

    mutating func insert(_ deadline: UInt64, _ serial: UInt64) {
        items.append((deadline, serial))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry when it is not after `limit`.
    mutating func popEarliest(notAfter limit: UInt64) -> (UInt64, UInt64)? {
        guard let first = items.first, first.deadline <= limit else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = parent * 2 + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left].deadline < items[smallest].deadline { smallest = left }
                if right < items.count, items[right].deadline < items[smallest].deadline { smallest = right }
                guard smallest != parent else { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (first.deadline, first.serial)
    }
}

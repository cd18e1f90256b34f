import CEventPoll

#if canImport(Glibc)
import Glibc
#endif

/// An epoll set and the eventfd that wakes whoever waits on it. The only code that touches epoll.
///
/// Shared between the dispatcher thread (which waits) and the worker threads (which re-arm
/// the connections they hand back): `epoll_ctl` and writing an eventfd are thread-safe system
/// calls, and both descriptors stay open for the object's lifetime.
final class EventPoll: @unchecked Sendable {
    /// The epoll instance.
    private let descriptor: Int32
    /// Becomes readable when `wake()` was called.
    let wakeDescriptor: Int32

    /// What a registered descriptor waits for.
    enum Interest {
        /// A listening socket: level-triggered, and with several processes on one socket only
        /// one of their epoll sets is woken per connection (`EPOLLEXCLUSIVE`).
        case listener
        /// A connection: readable or hung up, reported once until re-armed (`EPOLLONESHOT`),
        /// so exactly one thread owns it at any time.
        case connection
        /// The eventfd, or a notifier: level-triggered until consumed.
        case wake
        /// A connection whose request waits off any thread: only its hang-up is reported, once.
        case parked

        var events: UInt32 {
            switch self {
            case .wake: return EPOLLIN.rawValue
            case .listener: return EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
            case .connection: return EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
            case .parked: return EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
            }
        }
    }

    init() throws(SystemCallError) {
        descriptor = try systemCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        do {
            wakeDescriptor = try systemCall("eventfd") { eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
        } catch {
            close(descriptor)
            throw error
        }
        do {
            try add(wakeDescriptor, .wake)
        } catch {
            close(wakeDescriptor)
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(wakeDescriptor)
        close(descriptor)
    }

    /// Starts watching `fd`.
    func add(_ fd: Int32, _ interest: Interest) throws(SystemCallError) {
        try control(EPOLL_CTL_ADD, fd, interest, name: "epoll_ctl(ADD)")
    }

    /// Watches a connection again after its one reported event (`EPOLLONESHOT`).
    func rearm(_ fd: Int32, _ interest: Interest = .connection) throws(SystemCallError) {
        try control(EPOLL_CTL_MOD, fd, interest, name: "epoll_ctl(MOD)")
    }

    /// Stops watching `fd` (closing a descriptor also does this).
    func remove(_ fd: Int32) throws(SystemCallError) {
        try control(EPOLL_CTL_DEL, fd, .connection, name: "epoll_ctl(DEL)")
    }

    private func control(_ operation: Int32, _ fd: Int32, _ interest: Interest, name: String) throws(SystemCallError) {
        var event = epoll_event()
        event.events = interest.events
        event.data.fd = fd
        _ = try systemCall(name) { epoll_ctl(descriptor, operation, fd, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: no limit), fills `events` with the ready
    /// descriptors and returns how many. An interrupted wait returns none.
    func wait(into events: inout [epoll_event], timeoutMilliseconds: Int32) throws(SystemCallError) -> Int {
        let count = events.withUnsafeMutableBufferPointer { buffer in
            epoll_wait(descriptor, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        if count >= 0 { return Int(count) }
        let error = errno
        if error == EINTR { return 0 }
        throw SystemCallError("epoll_wait", errorNumber: error)
    }

    /// Makes the current or next `wait` return.
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    /// Clears a wake-up once it has been seen.
    func consumeWake() {
        var value: UInt64 = 0
        _ = read(wakeDescriptor, &value, 8)
    }
}

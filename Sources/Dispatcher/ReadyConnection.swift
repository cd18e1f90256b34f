/// A connection whose next request has arrived, handed to one worker thread.
public struct ReadyConnection: Sendable {
    /// The connected socket; the worker owns it until it calls `ConnectionDispatcher.finished`.
    public let descriptor: Int32
    /// When the request was seen arriving (`MonotonicClock`), so waits are measured from there.
    public let readySince: UInt64
    /// How long it waited in the ready queue for a free thread, in nanoseconds.
    public internal(set) var waitedNanoseconds: UInt64 = 0
    /// True when it waited longer than the queue timeout: answer 503 instead of working on it.
    public internal(set) var isOverdue = false
    /// True when the peer sent bytes after this request before it was answered (pipelining,
    /// which nginx never does): the connection is closed after the answer, so the bytes after
    /// it are never silently dropped on a connection kept open.
    public internal(set) var closeAfterResponse = false
    /// A request that waited off any thread and is due again (`ConnectionDispatcher.resume`):
    /// its state, as the one who parked it left it. Nothing is to be read from the connection.
    public internal(set) var resumed: (any AnyObject & Sendable)?
}

/// A first-in, first-out queue of ready connections (a ring over an array: no per-item allocation).
struct ReadyQueue {
    private var items: [ReadyConnection] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }

    mutating func append(_ connection: ReadyConnection) {
        items.append(connection)
    }

    mutating func removeFirst() -> ReadyConnection? {
        guard head < items.count else { return nil }
        let first = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return first
    }
}

extension ConnectionDispatcher {
    /// A snapshot of what the dispatcher holds.
    public struct Statistics: Sendable, Equatable {
        /// Connections open: idle + queued + being served.
        public var open = 0
        /// Idle connections waiting in the epoll set for their next request.
        public var idle = 0
        /// Ready requests waiting for a free thread.
        public var queued = 0
        /// Requests being served by a worker thread.
        public var busy = 0
        /// Connections accepted since start.
        public var accepted = 0
        /// Requests answered 503 because they waited longer than the queue timeout.
        public var shed = 0
        /// TCP connections closed at once because the peer is not in the allow-list.
        public var refusedPeers = 0
        /// Total time requests waited in the ready queue, in nanoseconds.
        public var waitedNanoseconds: UInt64 = 0
        /// Requests taken from the ready queue.
        public var dequeued = 0
        /// Connections whose request has begun to arrive but is not whole yet.
        public var arriving = 0
        /// Connections closed because their request was not FastCGI, or too large.
        public var refusedRequests = 0
        /// Connections closed because their request did not arrive whole in time.
        public var timedOutRequests = 0
        /// Idle connections closed after the idle timeout, or to make room at the limit.
        public var closedIdle = 0
        /// Worker threads asleep for want of a ready request.
        public var sleeping = 0
    }
}

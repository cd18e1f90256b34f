/// Limits of a `ConnectionDispatcher`.
public struct DispatcherSettings: Sendable {
    /// Connections held at once (idle, arriving, queued and being served); at the limit, a new
    /// connection takes the place of the longest-idle one (so idle connections, an attacker's
    /// or not, can never lock nginx out), or waits in the kernel's listen backlog when none is
    /// idle. This also bounds the ready queue.
    public var maximumConnections: Int = 16384
    /// A request that waited longer than this for a free thread is answered 503 at once.
    public var queueTimeoutNanoseconds: UInt64 = 5_000_000_000
    /// The TCP peers allowed to connect (`FCGI_WEB_SERVER_ADDRS`).
    public var allowedPeers: PeerAllowList = .any
    /// Send and receive timeout on a connection, in seconds: a peer that stops reading
    /// mid-response frees its thread after this long (requests are read whole before a thread
    /// takes them, so reads never wait on a peer).
    public var ioTimeoutSeconds: Int = 10
    /// A request must arrive whole within this long of its first byte, else its connection is
    /// closed (nginx sends a request in one go; only a stalled or hostile peer is slower).
    public var requestTimeoutNanoseconds: UInt64 = 10_000_000_000
    /// A connection with no request on it is closed after this long (nginx closes its idle kept
    /// connections after 4 s: `keepalive_timeout` in the shipped upstream blocks).
    public var idleTimeoutNanoseconds: UInt64 = 60_000_000_000
    /// The most `FCGI_PARAMS` bytes a request may announce: twice nginx's largest headers
    /// (`large_client_header_buffers 4 16k`, and the shipped configuration passes no other
    /// header but `Authorization`, `Content-Type`, `Origin` and a few more).
    public var maximumParamsBytes: Int = 128 * 1024
    /// The most bytes of one request, records and padding included: the params cap, the body
    /// limit (64 KiB, `client_max_body_size 64k`) with room to spare. A larger request is
    /// refused by closing its connection.
    public var maximumRequestBytes: Int = 256 * 1024

    /// The defaults.
    public init() {}
}

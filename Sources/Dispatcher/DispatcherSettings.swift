/// Limits of a `ConnectionDispatcher`.
public struct DispatcherSettings: Sendable {
    /// Connections held at once (idle, queued and being served); at the limit, new ones wait in
    /// the kernel's listen backlog until one closes. This also bounds the ready queue.
    public var maximumConnections: Int = 4096
    /// A request that waited longer than this for a free thread is answered 503 at once.
    public var queueTimeoutNanoseconds: UInt64 = 5_000_000_000
    /// The TCP peers allowed to connect (`FCGI_WEB_SERVER_ADDRS`).
    public var allowedPeers: PeerAllowList = .any
    /// Send and receive timeout on a connection, in seconds: a peer that stops mid-request or
    /// stops reading mid-response frees its thread after this long.
    public var ioTimeoutSeconds: Int = 10

    /// The defaults.
    public init() {}
}

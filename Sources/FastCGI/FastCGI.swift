import CFastCGI

/// Process-wide libfcgi set-up.
public enum FastCGI {
    /// The listening socket that spawn-fcgi and systemd (`StandardInput=socket`) leave on fd 0.
    public static let inheritedSocket: Int32 = 0

    /// Initialises libfcgi; call once, before any worker thread starts.
    public static func initialize() throws(FastCGIError) {
        let result = FCGX_Init()
        guard result == 0 else { throw FastCGIError("FCGX_Init", code: result) }
    }

    /// Opens a listening socket at a unix socket `path`, or `host:port` / `:port` for TCP.
    public static func openSocket(_ address: String, backlog: Int32) throws(FastCGIError) -> Int32 {
        let socket = FCGX_OpenSocket(address, backlog)
        guard socket >= 0 else { throw FastCGIError("FCGX_OpenSocket(\(address))", code: socket) }
        return socket
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The web servers allowed to connect over TCP: libfcgi's `FCGI_WEB_SERVER_ADDRS`, a
/// comma-separated list of addresses. FastCGI has no authentication, so a TCP listener on a
/// network must only serve its front ends.
///
/// libfcgi checks the list inside its own accept, which the dispatcher replaces; this keeps the
/// variable's meaning and closes libfcgi's gap: IPv6 peers are checked too (libfcgi lets every
/// non-IPv4 peer through), and an IPv4 peer on a dual-stack socket (`::ffff:a.b.c.d`) matches
/// its IPv4 entry. Unix-socket peers are not checked: the socket file's permissions decide.
public struct PeerAllowList: Sendable, Equatable {
    /// Allowed IPv4 addresses (network byte order), as `in_addr.s_addr`.
    private var ipv4: Set<UInt32> = []
    /// Allowed IPv6 addresses, as their 16 bytes.
    private var ipv6: Set<[UInt8]> = []
    /// Whether any peer may connect (the list is empty or unset).
    public var allowsAnyPeer: Bool { ipv4.isEmpty && ipv6.isEmpty }

    /// Every peer allowed.
    public static let any = PeerAllowList()

    private init() {}

    /// Parses a comma-separated list; nil or empty allows every peer. An entry that is not an
    /// IP address is an error (libfcgi silently ignores it, which would lock out the front end).
    public init(parsing list: String?) throws(PeerAllowListError) {
        guard let list else { return }
        for entry in list.split(separator: ",") {
            let text = entry.filter { $0 != " " && $0 != "\t" }
            if text.isEmpty { continue }
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, text, &v4) == 1 {
                ipv4.insert(v4.s_addr)
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                ipv6.insert(withUnsafeBytes(of: &v6) { Array($0) })
            } else {
                throw PeerAllowListError(entry: String(text))
            }
        }
    }

    /// Whether the peer at `address` may talk to us.
    func allows(_ address: UnsafePointer<sockaddr>) -> Bool {
        if allowsAnyPeer { return true }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let peer = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            return ipv4.contains(peer)
        case AF_INET6:
            var bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                var address = pointer.pointee.sin6_addr
                return withUnsafeBytes(of: &address) { Array($0) }
            }
            if ipv6.contains(bytes) { return true }
            // ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket.
            let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
            guard Array(bytes[0..<12]) == mappedPrefix else { return false }
            bytes.removeFirst(12)
            let ipv4Address = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            return ipv4.contains(ipv4Address)
        default:
            return true  // unix sockets
        }
    }
}

/// An `FCGI_WEB_SERVER_ADDRS` entry that is not an IP address.
public struct PeerAllowListError: Error, Sendable, CustomStringConvertible {
    /// The offending entry.
    public let entry: String
    public var description: String { "FCGI_WEB_SERVER_ADDRS: \"\(entry)\" is not an IPv4 or IPv6 address" }
}

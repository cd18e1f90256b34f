import APITables
import ASCII

/// What a path under `/dav/` (or `/.well-known/caldav`) names (Addendum v2.2 §14.1), decoded.
/// User ids and resource names are compared decoded and written percent-encoded.
public enum DAVResource: Equatable, Sendable {
    /// `/.well-known/caldav`: a redirect to `/dav/` (RFC 6764).
    case discovery
    /// `/dav/`: where a client asks who it is signed in as.
    case root
    /// `/dav/principals/{user}/`
    case principal(user: [UInt8])
    /// `/dav/calendars/{user}/`: the calendar home, with one calendar.
    case home(user: [UInt8])
    /// `/dav/calendars/{user}/tasks/`: the calendar of the user's tasks.
    case calendar(user: [UInt8])
    /// `/dav/calendars/{user}/tasks/{name}`: one task.
    case object(user: [UInt8], name: [UInt8])
    /// Any other path under `/dav/`: 404.
    case unknown

    /// The longest resource name, in octets after percent-decoding.
    public static let maximumNameLength = 255

    /// The route table's row.
    public var kind: RouteKind {
        switch self {
        case .discovery: return .davDiscovery
        case .object: return .davObject
        case .calendar: return .davCalendar
        case .root, .principal, .home, .unknown: return .dav
        }
    }

    /// The user a path belongs to, if it names one.
    public var owner: [UInt8]? {
        switch self {
        case .principal(let user), .home(let user), .calendar(let user), .object(let user, _): return user
        case .discovery, .root, .unknown: return nil
        }
    }

    /// The resource `rawPath` names, nil when it is not under `/dav` nor `/.well-known/caldav`.
    /// Segments are split before percent-decoding, so `%2F` never separates.
    public static func parse(_ rawPath: [UInt8]) -> DAVResource? {
        guard isDAVPath(rawPath) else { return nil }
        if rawPath.starts(with: "/.well-known/".utf8) { return .discovery }
        var segments = rawPath.dropFirst(4).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        if segments.first?.isEmpty == true { segments.removeFirst() }
        // A collection may be named with or without its trailing slash.
        let isCollectionPath = segments.last?.isEmpty == true
        if isCollectionPath { segments.removeLast() }
        guard !segments.contains(where: \.isEmpty) else { return .unknown }
        if segments.isEmpty { return .root }
        guard segments.count >= 2, let user = PercentDecoding.decode(segments[1]), !user.isEmpty else { return .unknown }
        switch (segments[0], segments.count) {
        case (Array("principals".utf8), 2): return .principal(user: user)
        case (Array("calendars".utf8), 2): return .home(user: user)
        case (Array("calendars".utf8), 3) where segments[2] == Array("tasks".utf8): return .calendar(user: user)
        case (Array("calendars".utf8), 4) where segments[2] == Array("tasks".utf8) && !isCollectionPath:
            guard let name = PercentDecoding.decode(segments[3]), isName(name) else { return .unknown }
            return .object(user: user, name: name)
        default: return .unknown
        }
    }

    /// Whether `rawPath` is CalDAV's (`/dav`, under `/dav/`, or the well-known path): a prefix
    /// test, for answering errors in the right shape without parsing the path again.
    public static func isDAVPath(_ rawPath: [UInt8]) -> Bool {
        rawPath.elementsEqual("/dav".utf8) || rawPath.starts(with: "/dav/".utf8)
            || rawPath.elementsEqual("/.well-known/caldav".utf8) || rawPath.elementsEqual("/.well-known/caldav/".utf8)
    }

    /// 1…255 octets of UTF-8, no `/` and no control characters.
    static func isName(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.count <= maximumNameLength, String(validating: name, as: UTF8.self) != nil else { return false }
        return !name.contains { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") }
    }
}

/// Hrefs this server writes: each segment percent-encoded except RFC 3986's unreserved
/// characters and the sub-delimiters and `:@` a path segment allows (`PercentDecoding`).
enum DAVHref {
    /// Appends `segment` encoded as every segment of an href is.
    static func appendSegment(_ segment: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        PercentDecoding.appendPathSegment(segment, keepingSubDelimiters: true, to: &output)
    }

    static func encode(_ segment: [UInt8]) -> String {
        var output: [UInt8] = []
        segment.withUnsafeBufferPointer { appendSegment($0, to: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    static func principal(_ user: [UInt8]) -> String { "/dav/principals/\(encode(user))/" }
    static func home(_ user: [UInt8]) -> String { "/dav/calendars/\(encode(user))/" }
    static func calendar(_ user: [UInt8]) -> String { "/dav/calendars/\(encode(user))/tasks/" }
    static func object(_ user: [UInt8], _ name: [UInt8]) -> String { calendar(user) + encode(name) }
}

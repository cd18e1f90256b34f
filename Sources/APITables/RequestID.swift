/// `X-Request-ID` (contract §12): the one rule for a client's own id, which nginx's map (written
/// by `todo-fcgi nginx-maps`) and the worker's access log both apply.
public enum RequestID {
    /// The longest id kept as the client sent it.
    public static let maximumLength = 128

    /// Whether `byte` may appear in a client's id: `A-Z a-z 0-9 . _ -`.
    @inlinable
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Whether `bytes` is an id to keep: 1...`maximumLength` allowed bytes. Inlinable, so each
    /// caller's collection type is specialized (it runs on every request).
    @inlinable
    public static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        (1...maximumLength).contains(bytes.count) && bytes.allSatisfy(isAllowed)
    }

    /// The same rule as a PCRE pattern, for nginx (`\\z`: the very end, not before a newline).
    public static var nginxPattern: String { "^[A-Za-z0-9._-]{1,\(maximumLength)}\\z" }

    /// The nginx `map` giving `$todo_request_id`: the client's `X-Request-ID` when it keeps the
    /// rule, else the id nginx makes for the request (`$request_id`, 32 hex digits).
    public static var nginxMap: String {
        """
        map $http_x_request_id $todo_request_id {
            default $request_id;
            "~\(nginxPattern)" $http_x_request_id;
        }

        """
    }
}

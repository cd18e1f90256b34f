import ASCII

/// The body of a 200 answer and how long the server says it stays fresh.
public struct HTTPFetchResponse: Sendable {
    /// The body.
    public let body: [UInt8]
    /// `Cache-Control: max-age` in seconds, nil when the server gave none.
    public let maximumAgeSeconds: Int?

    /// A response with `body`, fresh for `maximumAgeSeconds` (nil: unspecified).
    public init(body: [UInt8], maximumAgeSeconds: Int?) {
        self.body = body
        self.maximumAgeSeconds = maximumAgeSeconds
    }

    /// The freshness a `Cache-Control` value grants (RFC 9111 §5.2.2.1 `max-age=N`), nil when it
    /// names none. `no-cache`/`no-store` are not read as "fetch for every token": keys are cached anyway.
    public static func maximumAge(cacheControl: String) -> Int? {
        var age: Int?
        for directive in cacheControl.lowercased().split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingASCIISpaces }
            switch parts.first {
            case "max-age" where parts.count == 2:
                let digits = parts[1].hasPrefix("\"") && parts[1].hasSuffix("\"") && parts[1].count >= 2
                    ? parts[1].dropFirst().dropLast() : parts[1]
                guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { continue }
                age = Int(digits.prefix(10)) ?? Int.max  // a huge value is "very long", not an error
            default:
                continue
            }
        }
        return age
    }
}

import ASCII

/// iCalendar UIDs for tasks made through the JSON API: random (version 4) UUIDs in lower case,
/// as RFC 9562 spells them and RFC 7986 §5.3 recommends.
public enum TaskUID {
    /// A new random UUID, e.g. `5f0c7a1e-3b7d-4c2a-9f1e-8d6b2a4c0e91`.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = ASCIIHex.encode(bytes)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            hex.utf8.dropFirst(range.lowerBound).prefix(range.count)
        }
        return groups.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "-")
    }
}

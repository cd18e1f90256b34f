import JSON
import JWT
import Testing

/// Helpers shared by the JWT test suites.
extension String {
    /// The string with every `target` character replaced, for tampering with token text.
    func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}

/// Why a JWK was not usable.
public struct KeyError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What is wrong with the key.
    public let description: String
    /// Creates an error saying `description`.
    public init(_ description: String) { self.description = description }
}

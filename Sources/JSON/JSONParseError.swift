/// Why a byte sequence is not an acceptable JSON document.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kinds of rejection, so callers can map them to their own errors.
    public enum Kind: Sendable, Equatable {
        case invalidUTF8
        case syntax
        case duplicateKey
        case loneSurrogate
        case tooDeep
        case numberOutOfRange
    }

    /// What went wrong.
    public let kind: Kind
    /// Byte offset in the input where the problem was found.
    public let offset: Int
    /// A human sentence describing the problem.
    public let reason: String

    /// Creates an error of `kind` at byte `offset`.
    public init(_ kind: Kind, at offset: Int, _ reason: String) {
        self.kind = kind
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

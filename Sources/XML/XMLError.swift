/// Why an XML body was refused: the one error `XMLReader` throws. Every case is the client's
/// fault (HTTP 400), never a reason to fetch or expand anything.
public enum XMLError: Error, Equatable, Sendable {
    /// The bytes are not UTF-8, or the declaration names another encoding.
    case notUTF8
    /// A document type declaration (`<!DOCTYPE`): DTDs, and with them entity declarations and
    /// external entities, are refused outright, never read.
    case documentTypeDeclaration
    /// An entity reference other than the five predefined ones and character references.
    case undefinedEntity
    /// Elements nested deeper than `XMLReader.maximumDepth`.
    case nestingTooDeep
    /// More elements or attributes than the reader's caps.
    case tooManyNodes
    /// A prefix with no `xmlns:` declaration in scope.
    case unboundPrefix
    /// Anything else that is not well-formed XML, at this byte offset.
    case malformed(offset: Int)
}

extension Array where Element == UInt8 {
    /// Appends the bytes of fixed text (markup, property names, references) in one copy,
    /// without a `String` view: for writers that append a few such pieces per item of a report.
    @inlinable
    public mutating func append(fixed text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }
}

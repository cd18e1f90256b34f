/// Why an iCalendar object (RFC 5545) was refused: the one error its reader throws.
public struct ICalendarError: Error, Equatable, Sendable {
    /// What was wrong.
    public enum Reason: Equatable, Sendable {
        /// The bytes are not UTF-8 (RFC 5545 §3.1.4 makes UTF-8 the only charset).
        case notUTF8
        /// A line that is not `name *(;param) : value`, or holds a control character.
        case malformedContentLine
        /// A property before the first `BEGIN` or after the last `END`.
        case propertyOutsideComponent
        /// An `END` with no open component of that name.
        case unmatchedEnd
        /// A component still open at the end of the text.
        case unclosedComponent
        /// Components nested deeper than `ICalReader.maximumDepth`.
        case nestingTooDeep
        /// More content lines than `ICalReader.maximumLines`.
        case tooManyLines
    }

    /// What was wrong.
    public let reason: Reason
    /// The 1-based number of the (unfolded) content line where it was found; 0 for the whole text.
    public let line: Int

    /// An error for `reason` at `line`.
    public init(_ reason: Reason, line: Int) {
        self.reason = reason
        self.line = line
    }
}

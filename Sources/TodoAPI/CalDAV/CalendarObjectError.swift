/// Why a CalDAV client's calendar object (a PUT body) was refused: the RFC 4791 §5.3.2
/// precondition it fails, or a body that is not UTF-8 (415). Nothing is written.
public struct CalendarObjectError: Error, Equatable, Sendable {
    /// What the body fails.
    public enum Reason: String, Sendable {
        /// A component other than VTODO (and VTIMEZONE): `C:supported-calendar-component`.
        case unsupportedComponent = "supported-calendar-component"
        /// Not one well-formed VCALENDAR with exactly one VTODO: `C:valid-calendar-data`.
        case invalidData = "valid-calendar-data"
        /// Well-formed, but breaks a rule of the task (no UID, no SUMMARY, a title too long, …):
        /// `C:valid-calendar-object-resource`.
        case invalidObject = "valid-calendar-object-resource"
        /// The bytes are not UTF-8: 415.
        case notUTF8 = "supported-calendar-data"
    }

    /// What the body fails.
    public let reason: Reason
    /// A sentence for the client, naming the property at fault.
    public let detail: String

    /// A refusal for `reason`, explained by `detail`.
    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

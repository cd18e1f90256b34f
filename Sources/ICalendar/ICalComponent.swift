/// One parameter of a content line (`TZID=Europe/Berlin`, `VALUE=DATE`): its name upper-cased,
/// its values without quotes.
public struct ICalParameter: Equatable, Sendable {
    /// The name, upper-cased (names are case-insensitive).
    public var name: String
    /// The values, in order, unquoted.
    public var values: [String]

    /// A parameter named `name` (upper-cased here) with `values`.
    public init(name: String, values: [String]) {
        self.name = name.asciiUppercased
        self.values = values
    }
}

/// One property (content line) of a component: `DUE;TZID=Europe/Berlin:20261208T090000`.
public struct ICalProperty: Equatable, Sendable {
    /// The name, upper-cased.
    public var name: String
    /// The parameters, in the order they were written.
    public var parameters: [ICalParameter]
    /// The value as written on the line: TEXT values still escaped (see `ICalText`).
    public var value: String

    /// A property named `name` (upper-cased here) with its raw `value`.
    public init(name: String, parameters: [ICalParameter] = [], value: String) {
        self.name = name.asciiUppercased
        self.parameters = parameters
        self.value = value
    }

    /// A TEXT property: `text` escaped as RFC 5545 §3.3.11 requires.
    public init(name: String, parameters: [ICalParameter] = [], text: String) {
        self.init(name: name, parameters: parameters, value: ICalText.escape(text))
    }

    /// The first value of the parameter `name` (case-insensitive), if present.
    public func parameter(_ name: String) -> String? {
        let wanted = name.asciiUppercased
        return parameters.first { $0.name == wanted }?.values.first
    }

    /// The value read as one TEXT value (escapes undone).
    public var text: String { ICalText.unescape(value) }

    /// The value read as a comma-separated list of TEXT values (CATEGORIES), escapes undone.
    public var textList: [String] { ICalText.splitList(value).map(ICalText.unescape) }
}

/// A component (`VCALENDAR`, `VTODO`, `VALARM`, `VTIMEZONE`, …): its properties and the
/// components nested in it, in the order they were written.
public struct ICalComponent: Equatable, Sendable {
    /// The name, upper-cased.
    public var name: String
    /// The properties, in order (a name may repeat: CATEGORIES, ATTENDEE, X- …).
    public var properties: [ICalProperty]
    /// The nested components, in order.
    public var components: [ICalComponent]

    /// A component named `name` (upper-cased here).
    public init(name: String, properties: [ICalProperty] = [], components: [ICalComponent] = []) {
        self.name = name.asciiUppercased
        self.properties = properties
        self.components = components
    }

    /// The first property named `name` (case-insensitive), if any.
    public func property(_ name: String) -> ICalProperty? {
        let wanted = name.asciiUppercased
        return properties.first { $0.name == wanted }
    }

    /// Every property named `name` (case-insensitive), in order.
    public func properties(named name: String) -> [ICalProperty] {
        let wanted = name.asciiUppercased
        return properties.filter { $0.name == wanted }
    }

    /// The nested components named `name` (case-insensitive), in order.
    public func components(named name: String) -> [ICalComponent] {
        let wanted = name.asciiUppercased
        return components.filter { $0.name == wanted }
    }
}

extension String {
    /// The string with ASCII letters upper-cased (iCalendar names are ASCII): itself, without a
    /// copy, when it has no lower-case letter, as almost every name has not.
    var asciiUppercased: String {
        guard utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) else { return self }
        return String(decoding: utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 §5.6.3).
    public var trimmingASCIISpaces: Substring {
        // By UTF-8 unit, not by Character: no grapheme breaking for a few ASCII bytes.
        let units = utf8
        var start = units.startIndex, end = units.endIndex
        while start < end, units[start] == 0x20 || units[start] == 0x09 { start = units.index(after: start) }
        while end > start, units[units.index(before: end)] == 0x20 || units[units.index(before: end)] == 0x09 {
            end = units.index(before: end)
        }
        return self[start..<end]
    }
}

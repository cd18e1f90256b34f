#if canImport(Glibc)
import Glibc
#endif

/// iCalendar text read as content lines without building anything: each logical line's bytes
/// (its folds and CRLF included) and its name. For text this server wrote itself (a task's kept
/// properties), which a calendar report copies out line by line instead of parsing it again.
public struct ICalLines: IteratorProtocol {
    /// One content line of the text.
    public struct Line {
        /// The line's bytes in the text, from its name to its last CRLF, folds included.
        public let span: Range<Int>
        /// The name's bytes (the line's start up to `;` or `:`, folds included).
        public let name: Range<Int>
    }

    /// The text read.
    public let text: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// Whether the text stopped being what this server writes: a line not ended by CRLF, a name
    /// not uppercase letters, digits and `-`, or no `:` or `;` after it. `next()` then returns nil.
    public private(set) var isMalformed = false

    /// The lines of `text`.
    public init(_ text: UnsafeBufferPointer<UInt8>) {
        self.text = text
    }

    /// The next line, nil at the end (or at the first malformed one: see `isMalformed`).
    public mutating func next() -> Line? {
        guard position < text.count, !isMalformed else { return nil }
        let start = position
        var nameEnd = start
        while nameEnd < text.count {
            if Self.isUppercaseNameByte(text[nameEnd]) {
                nameEnd += 1
            } else if nameEnd > start, nameEnd + 2 < text.count, text[nameEnd] == 0x0D, text[nameEnd + 1] == 0x0A,
                      text[nameEnd + 2] == 0x20 || text[nameEnd + 2] == 0x09 {
                // A name longer than a line, folded: its parts are one name (never one of the
                // short names a caller looks for).
                nameEnd += 3
            } else {
                break
            }
        }
        guard nameEnd > start, nameEnd < text.count, text[nameEnd] == UInt8(ascii: ":") || text[nameEnd] == UInt8(ascii: ";") else {
            isMalformed = true
            return nil
        }
        // To the CRLF that is not followed by a fold (a space or a tab).
        var index = nameEnd
        while true {
            guard let newline = Self.firstNewline(in: text, from: index), newline > start, text[newline - 1] == 0x0D else {
                isMalformed = true
                return nil
            }
            index = newline + 1
            if index < text.count, text[index] == 0x20 || text[index] == 0x09 { continue }
            break
        }
        position = index
        return Line(span: start..<index, name: start..<nameEnd)
    }

    /// Whether `line`'s name is `name` (uppercase ASCII).
    public func line(_ line: Line, isNamed name: StaticString) -> Bool {
        guard line.name.count == name.utf8CodeUnitCount else { return false }
        return memcmp(text.baseAddress! + line.name.lowerBound, name.utf8Start, line.name.count) == 0
    }

    /// Whether `line` is `BEGIN:` or `END:` (`keyword`) followed by `component`, exactly.
    public func line(_ line: Line, is keyword: StaticString, _ component: StaticString) -> Bool {
        guard self.line(line, isNamed: keyword), let value = bareValue(line) else { return false }
        return component.withUTF8Buffer { value.elementsEqual($0) }
    }

    /// The bytes after the name's `:` up to the line's last CRLF, when the line has no
    /// parameters (folds included: `plainValue` refuses those).
    public func bareValue(_ line: Line) -> UnsafeBufferPointer<UInt8>? {
        guard text[line.name.upperBound] == UInt8(ascii: ":") else { return nil }
        return UnsafeBufferPointer(rebasing: text[(line.name.upperBound + 1)..<(line.span.upperBound - 2)])
    }

    /// Whether `line` opens (`BEGIN`) or closes (`END`) a component: its nesting changes.
    public func nesting(_ line: Line) -> Int {
        if self.line(line, isNamed: "BEGIN") { return 1 }
        if self.line(line, isNamed: "END") { return -1 }
        return 0
    }

    /// The value of `line` when it has no parameters and no folds (`STATUS:COMPLETED`), as
    /// `property(line)?.value` gives it but without parsing; nil otherwise.
    public func plainValue(_ line: Line) -> String? {
        guard let value = bareValue(line), line.span.count <= ICalWriter.maximumLineOctets + 2,
              !value.contains(where: ICalReader.isForbiddenControl) else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    /// The property `line` holds, unfolded and parsed as `ICalReader` parses it; nil when it is
    /// not a valid content line.
    public func property(_ line: Line) -> ICalProperty? {
        var unfolded: [UInt8] = []
        unfolded.reserveCapacity(line.span.count)
        var index = line.span.lowerBound
        let end = line.span.upperBound - 2
        while index < end {
            if text[index] == 0x0D, index + 2 < line.span.upperBound, text[index + 1] == 0x0A {
                index += 3
                continue
            }
            unfolded.append(text[index])
            index += 1
        }
        return try? ICalReader.parse(unfolded[...], number: 1)
    }

    private static func isUppercaseNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
    }

    private static func firstNewline(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < text.count, let found = memchr(text.baseAddress! + start, 0x0A, text.count - start) else { return nil }
        return text.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }
}

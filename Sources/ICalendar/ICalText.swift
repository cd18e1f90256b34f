/// TEXT values (RFC 5545 §3.3.11): backslash escapes for `\`, `;`, `,` and newlines, and
/// lists separated by unescaped commas.
public enum ICalText {
    /// `text` with `\`, `;`, `,` escaped and every newline (LF, CRLF or CR) written `\n`.
    public static func escape(_ text: String) -> String {
        // Most text has nothing to escape: returned as it is, without a copy.
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x3B || $0 == 0x2C || $0 == 0x0A || $0 == 0x0D }) else { return text }
        var output = ""
        output.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case ";": output += "\\;"
            case ",": output += "\\,"
            case "\r": output += "\\n"
            case "\n": if !previousWasCR { output += "\\n" }
            default: output.unicodeScalars.append(scalar)
            }
            previousWasCR = scalar == "\r"
        }
        return output
    }

    /// Appends `text` (UTF-8) to `output` escaped as `escape` does, without a `String` between.
    public static func append(escaping text: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        // The runs between escaped bytes are copied whole: most text has none.
        var index = 0
        var runStart = 0
        while index < text.count {
            let byte = text[index]
            guard needsEscape(byte) else {
                index += 1
                continue
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<index]))
            switch byte {
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x3B: output.append(contentsOf: [0x5C, 0x3B])
            case 0x2C: output.append(contentsOf: [0x5C, 0x2C])
            case 0x0D:
                output.append(contentsOf: [0x5C, 0x6E])
                if index + 1 < text.count, text[index + 1] == 0x0A { index += 1 }
            default: output.append(contentsOf: [0x5C, 0x6E])
            }
            index += 1
            runStart = index
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: text[runStart..<text.count]))
    }

    /// Whether `byte` is written escaped: `\`, `;`, `,`, CR or LF.
    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        let escapedBits: UInt64 = 1 << 0x3B | 1 << 0x2C | 1 << 0x0A | 1 << 0x0D
        return byte == 0x5C || (byte < 64 && escapedBits & (1 << UInt64(byte)) != 0)
    }

    /// `value` with its escapes undone: `\n`/`\N` a newline, `\\ \; \,` the character. A
    /// backslash before anything else (clients write `\:`) stays as it is, as does a lone
    /// backslash at the end.
    public static func unescape(_ value: String) -> String {
        guard value.unicodeScalars.contains("\\") else { return value }
        var output = ""
        var escaped = false
        for scalar in value.unicodeScalars {
            if escaped {
                switch scalar {
                case "n", "N": output += "\n"
                case "\\", ";", ",": output.unicodeScalars.append(scalar)
                default:
                    output += "\\"
                    output.unicodeScalars.append(scalar)
                }
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        if escaped { output += "\\" }
        return output
    }

    /// `value` split at commas that are not escaped; the parts are still escaped.
    public static func splitList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for scalar in value.unicodeScalars {
            if escaped {
                current.unicodeScalars.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                current.unicodeScalars.append(scalar)
                escaped = true
            } else if scalar == "," {
                parts.append(current)
                current = ""
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        parts.append(current)
        return parts
    }
}

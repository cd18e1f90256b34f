import ASCII
import CPostgres

extension PostgresConnection {
    /// Starts `COPY … TO STDOUT` (`sql`); until `nextCopyRow` returns false, the connection only
    /// hands out the COPY's rows. Used by `copy`, which reads a database as one stream instead
    /// of a query per batch.
    public func beginCopyOut(_ sql: String) throws(PostgresError) {
        guard let result = PQexec(handle, sql) else { throw lastError() }
        if PQresultStatus(result) == PGRES_COPY_OUT {
            PQclear(result)
            return
        }
        _ = try checked(result)
        throw PostgresError(message: "COPY did not start: the statement was not a COPY TO STDOUT")
    }

    /// Reads the running COPY's next row into `row` (text format, without its newline) and
    /// returns true; returns false once the COPY has ended well, and throws if it failed.
    public func nextCopyRow(into row: inout PostgresCopyTextRow) throws(PostgresError) -> Bool {
        var buffer: UnsafeMutablePointer<CChar>?
        let length = PQgetCopyData(handle, &buffer, 0)
        if length > 0, let buffer {
            defer { PQfreemem(buffer) }
            let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(length)).bindMemory(to: UInt8.self)
            // libpq hands out one whole row per call, ended by its newline.
            row.decode(bytes.last == 0x0A ? UnsafeBufferPointer(rebasing: bytes.dropLast()) : bytes)
            return true
        }
        guard length == -1 else { throw lastError() }
        // The COPY is over: its outcome is the next result.
        guard let result = PQgetResult(handle) else { throw lastError() }
        _ = try checked(result)
        while let extra = PQgetResult(handle) { PQclear(extra) }
        return false
    }
}

/// One row of PostgreSQL's COPY text format, decoded: its fields split at tabs, `\N` read as
/// NULL and backslash sequences undone. Reused from row to row, so decoding allocates nothing
/// once its buffers have grown to the widest row.
public struct PostgresCopyTextRow {
    /// The decoded bytes of every field, one after another.
    private var bytes: [UInt8] = []
    /// Each field's range in `bytes`; nil for NULL.
    private var fields: [Range<Int>?] = []

    /// An empty row.
    public init() {
        bytes.reserveCapacity(1024)
        fields.reserveCapacity(32)
    }

    /// How many fields the row has.
    public var count: Int { fields.count }

    /// Whether field `index` is NULL (or missing).
    public func isNull(_ index: Int) -> Bool {
        index >= fields.count || fields[index] == nil
    }

    /// Calls `body` with field `index` as UTF-8 (empty when NULL or missing).
    public func withField<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard index < fields.count, let range = fields[index] else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Replaces the row with the one `line` holds (without its newline).
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>) {
        bytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        var fieldStart = 0
        var isNull = false
        var index = 0
        while true {
            // Plain bytes go over in runs; only a tab or a backslash needs a look.
            let run = index
            while index < line.count, line[index] != 0x09, line[index] != 0x5C { index += 1 }
            if index > run { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: line[run..<index])) }
            if index == line.count || line[index] == 0x09 {
                fields.append(isNull ? nil : fieldStart..<bytes.count)
                fieldStart = bytes.count
                isNull = false
                if index == line.count { return }
                index += 1
                continue
            }
            index += 1  // the backslash
            guard index < line.count else { return fields.append(fieldStart..<bytes.count) }
            let escaped = line[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "N") where bytes.count == fieldStart && (index == line.count || line[index] == 0x09):
                isNull = true
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "v"): bytes.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                // One to three octal digits (COPY TO never writes them, but the format has them).
                var value = UInt32(escaped - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, index < line.count, let digit = Self.octalDigit(line[index]) {
                    value = value * 8 + digit
                    index += 1
                    digits += 1
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where index < line.count && ASCIIHex.value(of: line[index]) != nil:
                // One or two hex digits.
                var value = ASCIIHex.value(of: line[index])!
                index += 1
                if index < line.count, let digit = ASCIIHex.value(of: line[index]) {
                    value = value &* 16 &+ digit
                    index += 1
                }
                bytes.append(value)
            default:
                // `\\`, and any other character, stands for itself.
                bytes.append(escaped)
            }
        }
    }

    private static func octalDigit(_ byte: UInt8) -> UInt32? {
        (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) ? UInt32(byte - UInt8(ascii: "0")) : nil
    }
}

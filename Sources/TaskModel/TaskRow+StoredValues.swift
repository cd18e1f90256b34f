import JSON

/// A value as a backend stores it, borrowed from wherever it is held: valid only inside the
/// callback that receives it (`TaskRow.forEachStoredValue`), so `copy` moves a row's text from
/// the source's buffers into the destination's without a copy of its own.
public enum BorrowedStoredValue {
    /// Text as UTF-8; nil for NULL.
    case text(UnsafeBufferPointer<UInt8>?)
    /// An integer; nil for NULL.
    case integer(Int64?)
    /// A boolean.
    case boolean(Bool)
}

extension TaskRow {
    /// The writable fields as they are stored.
    public var state: TaskState {
        var state = TaskState(title: withTitle { String(decoding: $0, as: UTF8.self) })
        state.description = hasDescription ? withDescription { String(decoding: $0, as: UTF8.self) } : nil
        state.completed = completed
        state.priority = priority
        state.tags = withTagsJSON { Self.tags(fromJSON: $0) }
        state.dueDate = dueDate
        state.recurrence = recurrence
        state.uid = withUID { String(decoding: $0, as: UTF8.self) }
        state.resourceName = withResourceName { String(decoding: $0, as: UTF8.self) }
        state.calendarData = hasCalendarData ? withCalendarData { String(decoding: $0, as: UTF8.self) } : nil
        return state
    }

    /// Calls `body` with what each of `columns` (any but `changeSeq`, which the database
    /// numbers) stores for this task, in order: what `copy` writes into the destination. The
    /// columns derived from the state are derived once per row.
    public func forEachStoredValue(_ columns: [TaskColumn],
                                   _ body: (TaskColumn, BorrowedStoredValue) throws(StorageError) -> Void) throws(StorageError) {
        var derived: TaskState?
        // Text is lent by non-throwing `withUTF8`s: `body`'s failure is carried out of them.
        func lend(_ column: TaskColumn, _ bytes: UnsafeBufferPointer<UInt8>) -> StorageError? {
            StorageError.caught { () throws(StorageError) in try body(column, .text(bytes)) }
        }
        for column in columns {
            switch column {
            case .id, .createdAt, .updatedAt, .version:
                try body(column, .integer(source.integer(column)))
            case .completedAt, .nextTaskID:
                try body(column, .integer(source.isNull(column) ? nil : source.integer(column)))
            case .changeSeq:
                preconditionFailure("change_seq is numbered by the database")
            // The stored bytes themselves, not a re-encoding (a row may predate today's rules).
            case .userID, .title, .tags, .uid, .resourceName:
                try StorageError.rethrow(source.withUTF8(column) { lend(column, $0) })
            case .description where hasDescription, .calendarData where hasCalendarData:
                try StorageError.rethrow(source.withUTF8(column) { lend(column, $0) })
            case .description, .calendarData:
                try body(column, .text(nil))
            default:
                let state = derived ?? self.state
                derived = state
                switch state.storedValue(column) {
                case .integer(let number): try body(column, .integer(number))
                case .boolean(let flag): try body(column, .boolean(flag))
                case .text(nil): try body(column, .text(nil))
                case .text(var text?): try StorageError.rethrow(text.withUTF8 { lend(column, $0) })
                }
            }
        }
    }

    /// The strings of a stored JSON array (written by `TaskState.tagsJSON`).
    public static func tags(fromJSON bytes: UnsafeBufferPointer<UInt8>) -> [String] {
        guard case .array(let values)? = try? JSONParser(maximumDepth: 2).parse(bytes) else { return [] }
        return values.compactMap(\.stringValue)
    }

    /// Calls `body` with the UTF-8 of each string of a stored JSON array, in order, as
    /// `tags(fromJSON:)` reads them: lent from `bytes` when no string holds an escape (nearly
    /// every tag), so a calendar report writes tags without a `String` each.
    public static func forEachTag(inJSON bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var spans: [Range<Int>] = []
        guard plainStrings(of: bytes, into: &spans) else {
            for var tag in tags(fromJSON: bytes) { tag.withUTF8(body) }
            return
        }
        for span in spans { body(UnsafeBufferPointer(rebasing: bytes[span])) }
    }

    /// The spans of the strings of a JSON array of strings without escapes; false for anything
    /// else (an escape, another value, bad JSON), which the full parser reads instead.
    private static func plainStrings(of bytes: UnsafeBufferPointer<UInt8>, into spans: inout [Range<Int>]) -> Bool {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return false }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; skipSpace(); return index == bytes.count }
        while true {
            guard index < bytes.count, bytes[index] == quote else { return false }
            let start = index + 1
            index = start
            while index < bytes.count, bytes[index] != quote {
                // An escape or a raw control character (invalid JSON): the parser decides.
                guard bytes[index] != backslash, bytes[index] >= 0x20 else { return false }
                index += 1
            }
            guard index < bytes.count else { return false }
            spans.append(start..<index)
            index += 1
            skipSpace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "]") { index += 1; skipSpace(); return index == bytes.count }
            guard bytes[index] == UInt8(ascii: ",") else { return false }
            index += 1
            skipSpace()
        }
    }
}

extension StorageError {
    /// Runs `body` and returns its failure instead of throwing it: for work inside a closure
    /// that cannot throw (a buffer lent by `withUTF8`), thrown again outside with `rethrow`.
    static func caught(_ body: () throws(StorageError) -> Void) -> StorageError? {
        do { try body() } catch { return error }
        return nil
    }

    /// Throws `failure`, if there is one.
    static func rethrow(_ failure: StorageError?) throws(StorageError) {
        if let failure { throw failure }
    }
}

extension StoredValue {
    /// `value`, owned.
    public init(_ value: BorrowedStoredValue) {
        switch value {
        case .text(let bytes): self = .text(bytes.map { String(decoding: $0, as: UTF8.self) })
        case .integer(let number): self = .integer(number)
        case .boolean(let flag): self = .boolean(flag)
        }
    }
}

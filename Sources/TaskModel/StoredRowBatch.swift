/// Rows of what each copied column stores (`TaskColumn.copied`), packed into two flat buffers:
/// how `copy` hands rows from the thread reading the source to the thread writing the
/// destination, with the derived columns already derived.
public struct StoredRowBatch: Sendable {
    /// One column's value of one row; text is a range of `text`.
    enum Cell: Sendable {
        case null
        case integer(Int64)
        case boolean(Bool)
        case text(start: Int32, count: Int32)
    }

    /// Rows per batch: large enough to amortize the hand-over, small enough to keep memory flat.
    public static let capacity = 1000

    private var text: [UInt8] = []
    private var cells: [Cell] = []

    /// An empty batch.
    public init() {
        cells.reserveCapacity(Self.capacity * TaskColumn.copied.count)
        text.reserveCapacity(Self.capacity * 256)
    }

    /// How many rows the batch holds.
    public var count: Int { cells.count / TaskColumn.copied.count }

    /// Whether the batch is full.
    public var isFull: Bool { count >= Self.capacity }

    /// Appends what `task` stores.
    public mutating func append(_ task: TaskRow) throws(StorageError) {
        try task.forEachStoredValue(TaskColumn.copied) { (_, value) throws(StorageError) in
            switch value {
            case .integer(nil), .text(nil): cells.append(.null)
            case .integer(let number?): cells.append(.integer(number))
            case .boolean(let flag): cells.append(.boolean(flag))
            case .text(let bytes?):
                guard text.count + bytes.count <= Int(Int32.max) else {
                    throw StorageError(.internal, "a batch of copied tasks outgrew 2 GiB of text")
                }
                cells.append(.text(start: Int32(text.count), count: Int32(bytes.count)))
                text.append(contentsOf: bytes)
            }
        }
    }

    /// Row `index` (0 ..< count).
    public func row(_ index: Int) -> StoredRow { StoredRow(batch: self, index: index) }

    fileprivate func cell(_ row: Int, _ column: TaskColumn) -> Cell {
        // `copied` is every column but the last (`changeSeq`), so a column's raw value is its place.
        cells[row * TaskColumn.copied.count + Int(column.rawValue)]
    }

    fileprivate func withText<R>(start: Int32, count: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        text.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[Int(start)..<Int(start + count)])) }
    }
}

/// One row of a `StoredRowBatch`: what each copied column stores, and (as a `TaskRowSource`)
/// the task itself.
public struct StoredRow: TaskRowSource {
    fileprivate let batch: StoredRowBatch
    fileprivate let index: Int

    /// Calls `body` with each copied column's stored value, in `TaskColumn.copied` order.
    public func forEachStoredValue(_ body: (TaskColumn, BorrowedStoredValue) throws(StorageError) -> Void) throws(StorageError) {
        for column in TaskColumn.copied {
            switch batch.cell(index, column) {
            case .null: try body(column, column.kind == .text ? .text(nil) : .integer(nil))
            case .integer(let number): try body(column, .integer(number))
            case .boolean(let flag): try body(column, .boolean(flag))
            case .text(let start, let count):
                // The text is lent by a non-throwing closure: `body`'s failure is carried out of it.
                try StorageError.rethrow(batch.withText(start: start, count: count) { bytes in
                    StorageError.caught { () throws(StorageError) in try body(column, .text(bytes)) }
                })
            }
        }
    }

    public func isNull(_ column: TaskColumn) -> Bool {
        if case .null = batch.cell(index, column) { return true }
        return false
    }

    public func integer(_ column: TaskColumn) -> Int64 {
        switch batch.cell(index, column) {
        case .integer(let number): return number
        case .boolean(let flag): return flag ? 1 : 0
        case .null, .text: return 0
        }
    }

    public func withUTF8<Result>(_ column: TaskColumn, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        guard case .text(let start, let count) = batch.cell(index, column) else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return batch.withText(start: start, count: count, body)
    }
}

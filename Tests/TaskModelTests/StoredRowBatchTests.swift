import Testing
@testable import TaskModel

/// The packed rows `copy` hands from its reading thread to its writing one.
struct StoredRowBatchTests {
    static func tasks() -> [StoredTask] {
        var tasks: [StoredTask] = []
        for index in 0..<25 {
            var state = TaskState(title: "Task \(index) ÄÖ\t\\ \u{0}")
            state.description = index % 3 == 0 ? nil : (index % 3 == 1 ? "" : "line\nline ✓")
            state.completed = index % 2 == 0
            state.priority = TaskPriority(rawValue: Int64(index % 3)) ?? .default
            state.tags = Array(["Home", "work", "é"].prefix(index % 4))
            state.dueDate = index % 4 == 0 ? nil : (index % 4 == 1 ? .day(startingAt: 1_803_859_200_000) : .instant(1_803_859_200_123 + Int64(index)))
            state.recurrence = state.dueDate != nil && index % 5 == 0 ? TaskRecurrence(frequency: .weekly, interval: 2) : nil
            tasks.append(StoredTask(id: Int64(index + 1), userID: "user-\(index % 4)", state: state, now: 1_800_000_000_000 + Int64(index)))
        }
        return tasks
    }

    @Test func eachRowStoresWhatItsTaskStoresAndReadsBackAsTheTask() throws {
        var batch = StoredRowBatch()
        let tasks = Self.tasks()
        for task in tasks { try batch.append(task.row) }
        #expect(batch.count == tasks.count)
        #expect(!batch.isFull)
        for (index, task) in tasks.enumerated() {
            let row = batch.row(index)
            var values: [StoredValue] = []
            try row.forEachStoredValue { column, value in
                #expect(column == TaskColumn.copied[values.count])
                values.append(StoredValue(value))
            }
            // Derived columns included: what the task itself stores, column for column.
            #expect(values == task.storedValues(TaskColumn.copied), "task \(task.id)")
            // And, read as a task, the task.
            #expect(StoredTask(row as any TaskRowSource) == task, "task \(task.id)")
        }
    }

    @Test func aBatchIsFullAtItsCapacity() throws {
        var batch = StoredRowBatch()
        let task = Self.tasks()[1]
        for _ in 0..<StoredRowBatch.capacity { try batch.append(task.row) }
        #expect(batch.isFull)
        #expect(batch.count == StoredRowBatch.capacity)
    }

    @Test func theCopiedColumnsAreEveryColumnButTheChangeNumberInRawValueOrder() {
        // `StoredRowBatch` finds a column's cell at its raw value.
        #expect(TaskColumn.copied.enumerated().allSatisfy { Int($0.element.rawValue) == $0.offset })
        #expect(TaskColumn.copied.count == TaskColumn.allCases.count - 1)
        #expect(!TaskColumn.copied.contains(.changeSeq))
    }
}

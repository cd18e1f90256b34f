import SQLite
import Synchronization
import Testing
@testable import TodoAPI

#if canImport(Glibc)
import Glibc
#endif

@Suite("Write gate")
struct WriteGateTests {
    final class Box: @unchecked Sendable {
        var inside = 0
        var maximumInside = 0
        var turns = 0
    }

    @Test func admitsOneThreadAtATimeAndLosesNoTurn() async throws {
        let gate = WriteGate()
        let box = Box()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<50 {
                        try? gate.withTurn { () throws(SQLiteError) in
                            box.inside += 1
                            box.maximumInside = max(box.maximumInside, box.inside)
                            usleep(50)
                            box.turns += 1
                            box.inside -= 1
                        }
                    }
                }
            }
        }
        #expect(box.maximumInside == 1)
        #expect(box.turns == 400)
    }

    @Test func releasesTheTurnWhenTheBodyThrows() throws {
        let gate = WriteGate()
        #expect(throws: SQLiteError.self) {
            try gate.withTurn { () throws(SQLiteError) in throw SQLiteError(code: .busy, message: "busy") }
        }
        let value = try gate.withTurn { () throws(SQLiteError) in 42 }
        #expect(value == 42)
    }
}

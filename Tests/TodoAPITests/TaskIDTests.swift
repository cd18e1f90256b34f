import Testing
import TaskModel
@testable import TodoAPI

@Suite("Task ids")
struct TaskIDTests {
    @Test(arguments: [("1", 1), ("7", 7), ("42", 42), ("9223372036854775807", Int64.max)] as [(String, Int64)])
    func acceptsCanonicalIds(_ text: String, _ value: Int64) {
        #expect(TaskID.parse(Array(text.utf8)) == value)
    }

    @Test(arguments: ["", "0", "00", "007", "+7", "-1", "7a", "1.0", " 7", "7 ", "1e3", "9223372036854775808",
                      "99999999999999999999", "0x10", "٣"])
    func rejectsEverythingElse(_ text: String) {
        #expect(TaskID.parse(Array(text.utf8)) == nil)
    }
}

import Testing
import TaskModel
@testable import TodoAPI

@Suite("List query")
struct TaskListQueryTests {
    func parse(_ query: String) throws(APIError) -> TaskListQuery {
        try TaskListQuery(rawQuery: Array(query.utf8))
    }

    @Test func defaults() throws {
        let query = try parse("")
        #expect(query == TaskListQuery())
        #expect(query.status == .all && query.sort == .created && query.order == .asc)
        #expect(query.limit == 100 && query.offset == 0)
    }

    @Test func parsesEveryOption() throws {
        let query = try parse("status=completed&sort=title&order=desc&limit=1000&offset=5")
        #expect(query.status == .completed && query.sort == .title && query.order == .desc)
        #expect(query.limit == 1000 && query.offset == 5)
        #expect(try parse("limit=1").limit == 1)
        #expect(try parse("status=%70ending").status == .pending)
    }

    @Test(arguments: ["limit=0", "limit=1001", "limit=abc", "limit=1.5", "limit=", "limit", "limit=-1", "limit=+5",
                      "limit=99999999999999999999", "offset=-1", "offset=x", "status=done", "sort=name", "order=up",
                      "order=ASC", "limit=5&limit=6", "%zz=1", "status=%zz", "q=", "q=%20%20", "priority=urgent", "priority=low,", "tag=",
                      "due_before=2026-02-30", "due_after=yesterday", "has_due=yes", "sort=due", "q=a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k",
                      "tag=1&tag=2&tag=3&tag=4&tag=5&tag=6&tag=7&tag=8&tag=9&tag=10&tag=11", "q=a&q=b", "has_due=true&has_due=true"])
    func rejectsBadParameters(_ query: String) {
        #expect(throws: APIError.self) { try parse(query) }
        do {
            _ = try parse(query)
        } catch {
            #expect(error.status == 400)
            #expect(error.code == "invalid_query")
        }
    }
}

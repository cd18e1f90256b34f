import TaskModel
import Testing

/// Search keeps §6's semantics on every backend: a substring of the title or the description,
/// after the same lower-casing, with no character of a term read as query syntax or a wildcard,
/// short terms and long ones alike, and only the text a task has now (the rules any index added
/// for search at scale, #38, must keep).
@Suite("Search semantics")
struct SearchConformanceTests {
    private static let now: Int64 = 1_795_000_000_000

    private func titles(_ store: any TaskStore, _ user: String, _ terms: [String]) throws -> [String] {
        var query = TaskListQuery()
        query.searchTerms = terms
        var found: [String] = []
        let total = try store.list(userID: user, query: query) { found.append(String(decoding: StoredTask($0).title, as: UTF8.self)) }
        #expect(total == Int64(found.count))
        return found
    }

    @Test(arguments: BackendKind.available)
    func everyCharacterOfATermIsLiteral(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        for title in ["50%_off \"quoted\" back\\slash", "500 of them", "a_b", "Ünïcode DENTIST", "NEAR OR AND *x*"] {
            _ = try store.create(userID: "alice", state: TaskState(title: title), now: Self.now)
        }
        _ = try store.create(userID: "bob", state: TaskState(title: "bob's dentist"), now: Self.now)
        #expect(try titles(store, "alice", ["50%"]) == ["50%_off \"quoted\" back\\slash"])
        #expect(try titles(store, "alice", ["%_o"]) == ["50%_off \"quoted\" back\\slash"])
        #expect(try titles(store, "alice", ["\"quo"]) == ["50%_off \"quoted\" back\\slash"])
        #expect(try titles(store, "alice", ["k\\s"]) == ["50%_off \"quoted\" back\\slash"])
        #expect(try titles(store, "alice", ["a_b"]) == ["a_b"])
        #expect(try titles(store, "alice", ["a%b"]).isEmpty)
        #expect(try titles(store, "alice", ["ünï", "dent"]) == ["Ünïcode DENTIST"])
        #expect(try titles(store, "alice", ["near", "or", "*x*"]) == ["NEAR OR AND *x*"])
        #expect(try titles(store, "alice", ["dentist"]) == ["Ünïcode DENTIST"])  // not bob's
        #expect(try titles(store, "bob", ["dentist"]) == ["bob's dentist"])
        #expect(try titles(store, "alice", ["500"]) == ["500 of them"])
        #expect(try titles(store, "alice", ["0"]).count == 2)
    }

    @Test(arguments: BackendKind.available)
    func aChangedTitleOrDescriptionIsFoundByItsNewWordsOnly(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        let task = try store.create(userID: "alice", state: TaskState(title: "call the plumber"), now: Self.now)
        var changes = TaskChanges()
        changes.title = "call the electrician"
        changes.description = "about the wiring"
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.merge(changes)), now: Self.now + 1)
        #expect(try titles(store, "alice", ["plumber"]).isEmpty)
        #expect(try titles(store, "alice", ["electric"]) == ["call the electrician"])
        #expect(try titles(store, "alice", ["wiring"]) == ["call the electrician"])
        _ = try store.update(userID: "alice", id: task.id, update: TaskUpdate(.complete(true)), now: Self.now + 2)
        #expect(try titles(store, "alice", ["electric"]) == ["call the electrician"])
        #expect(try store.delete(userID: "alice", id: task.id, deletion: TaskDeletion(ifMatch: nil), now: Self.now + 3) == .deleted)
        #expect(try titles(store, "alice", ["electric"]).isEmpty)
    }
}

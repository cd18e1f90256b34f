import TaskModel
import Testing

/// App passwords (Addendum v2.2 §14.2) on every backend: scoped to their owner, at most 20,
/// gone at once when deleted, their last use recorded at most once a minute.
@Suite("Task store conformance: app passwords")
struct AppPasswordConformanceTests {
    static let now: Int64 = 1_795_000_000_000

    @Test(arguments: BackendKind.available)
    func passwordsBelongToTheirOwnerAndAreListedWithoutDigests(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        guard case .created(let first) = try store.createAppPassword(userID: "alice", name: "phone", digest: "d1", now: Self.now),
              case .created(let second) = try store.createAppPassword(userID: "alice", name: "laptop", digest: "d2", now: Self.now + 1)
        else { Issue.record("not created"); return }
        #expect(first == AppPassword(id: first.id, name: "phone", createdAt: Self.now, lastUsedAt: nil) && second.id > first.id)
        #expect(try store.appPasswords(userID: "alice") == [first, second])
        #expect(try store.appPasswords(userID: "bob").isEmpty && store.appPasswordDigests(userID: "bob").isEmpty)
        #expect(Set(try store.appPasswordDigests(userID: "alice").map(\.digest)) == ["d1", "d2"])
        // Another user can neither delete nor use it.
        #expect(try !store.deleteAppPassword(userID: "bob", id: first.id))
        #expect(try store.deleteAppPassword(userID: "alice", id: first.id))
        #expect(try !store.deleteAppPassword(userID: "alice", id: first.id))
        #expect(try store.appPasswordDigests(userID: "alice").map(\.digest) == ["d2"])
        // Seen at once by another process's connection.
        #expect(try database.backendOfAnotherProcess().makeStore().appPasswordDigests(userID: "alice").map(\.id) == [second.id])
    }

    @Test(arguments: BackendKind.available)
    func atMostTwentyPerUser(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        var ids: [Int64] = []
        for number in 0..<AppPassword.maximumPerUser {
            guard case .created(let password) = try store.createAppPassword(userID: "alice", name: "p\(number)", digest: "d\(number)",
                                                                             now: Self.now) else { Issue.record("refused early"); return }
            ids.append(password.id)
        }
        #expect(try store.createAppPassword(userID: "alice", name: "one more", digest: "x", now: Self.now) == .tooMany)
        #expect(try store.appPasswords(userID: "alice").count == AppPassword.maximumPerUser)
        if case .tooMany = try store.createAppPassword(userID: "bob", name: "bob's", digest: "x", now: Self.now) {
            Issue.record("bob counted alice's passwords")
        }
        #expect(try store.deleteAppPassword(userID: "alice", id: ids[0]))
        if case .tooMany = try store.createAppPassword(userID: "alice", name: "again", digest: "y", now: Self.now) {
            Issue.record("a deleted password still counted")
        }
    }

    /// `copy` carries them, between any two backends: apps stay signed in after a move, and
    /// new passwords take ids after the copied ones.
    @Test(arguments: BackendKind.available.filter { $0 != .memory })
    func aCopyCarriesThemWithTheirIdsAndDigests(_ kind: BackendKind) throws {
        let source = try FreshDatabase(kind)
        let store = try source.store()
        _ = try store.createAppPassword(userID: "alice", name: "phone", digest: "d1", now: Self.now)
        _ = try store.createAppPassword(userID: "bob", name: "laptop", digest: "d2", now: Self.now + 1)
        try store.recordAppPasswordUse(userID: "bob", id: 2, now: Self.now + 5)
        _ = try store.create(userID: "alice", state: TaskState(title: "t"), now: Self.now)
        for destinationKind in BackendKind.available.filter({ $0 != .memory }) {
            let destination = try FreshDatabase(destinationKind, migrated: false)
            _ = try TaskCopy.run(from: source.backend, to: destination.backend)
            let copied = try destination.store()
            #expect(try copied.appPasswords(userID: "alice") == store.appPasswords(userID: "alice"), "\(kind) → \(destinationKind)")
            #expect(try copied.appPasswords(userID: "bob") == store.appPasswords(userID: "bob"), "\(kind) → \(destinationKind)")
            #expect(try copied.appPasswordDigests(userID: "bob").map(\.digest) == ["d2"])
            guard case .created(let next) = try copied.createAppPassword(userID: "alice", name: "new", digest: "d3", now: Self.now)
            else { Issue.record("not created"); continue }
            #expect(next.id == 3, "\(kind) → \(destinationKind)")
        }
    }

    @Test(arguments: BackendKind.available)
    func aUseIsRecordedAtMostOnceAMinute(_ kind: BackendKind) throws {
        let database = try FreshDatabase(kind)
        let store = try database.store()
        guard case .created(let password) = try store.createAppPassword(userID: "alice", name: "p", digest: "d", now: Self.now) else {
            Issue.record("not created"); return
        }
        try store.recordAppPasswordUse(userID: "alice", id: password.id, now: Self.now + 10)
        try store.recordAppPasswordUse(userID: "alice", id: password.id, now: Self.now + 30_000)
        #expect(try store.appPasswords(userID: "alice").first?.lastUsedAt == Self.now + 10)
        try store.recordAppPasswordUse(userID: "alice", id: password.id, now: Self.now + 70_011)
        #expect(try store.appPasswordDigests(userID: "alice").first?.lastUsedAt == Self.now + 70_011)
        // Another user's record changes nothing.
        try store.recordAppPasswordUse(userID: "bob", id: password.id, now: Self.now + 999_999)
        #expect(try store.appPasswords(userID: "alice").first?.lastUsedAt == Self.now + 70_011)
    }
}

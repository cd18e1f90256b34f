import JSON
import JWT
import MemoryStorage
import Synchronization
import TaskModel
import Testing
@testable import TodoAPI

let testSecret = Array("integration-test-secret-0123456789abcdef".utf8)

/// A settable clock shared with the application under test.
final class TestClock: Sendable {
    private let millis = Mutex<Int64>(1_795_000_000_000)
    var milliseconds: Int64 { millis.withLock { $0 } }
    func advance(by delta: Int64) { millis.withLock { $0 += delta } }
}

/// The application over a fresh in-memory database, driven in-process. (Each backend's own
/// behaviour is held to the same rules by the conformance suite, TaskStoreConformanceTests.)
final class Harness {
    let clock = TestClock()
    let application: TodoApplication
    /// The store under the application (for tests of the store itself).
    let store: any TaskStore
    /// What the application said about the last request sent (route, user, metrics facts).
    var lastReply: Reply?

    init(cors: CORSPolicy = CORSPolicy(), metrics: (@Sendable () -> (contentType: String, body: [UInt8]))? = nil,
         changeFeed: (any ChangeFeed)? = nil, store: ((any TaskStore) throws -> any TaskStore)? = nil) throws {
        let clock = self.clock
        let authenticator = try Authenticator(configuration: JWTConfiguration(secret: testSecret),
                                              clock: { Double(clock.milliseconds) / 1000 })
        let memory = try MemoryTaskBackend().makeStore()
        self.store = try store?(memory) ?? memory
        var changeMarker: (@Sendable (ChangeKey) -> UInt64)?
        if let changeFeed { changeMarker = { changeFeed.marker(of: $0) } }
        application = TodoApplication(authenticator: authenticator, store: self.store,
                                      cors: cors, nowMilliseconds: { clock.milliseconds }, metrics: metrics,
                                      changeMarker: changeMarker, log: { _ in })
    }

    func token(_ subject: String, lifetime: Int64 = 600) throws -> String {
        try JWTSigner(secret: testSecret).sign(subject: subject, issuedAt: clock.milliseconds / 1000, lifetime: lifetime)
    }

    /// Sends a request as `user` (a token for that subject) unless `authorization` is given explicitly.
    func send(_ method: String, _ target: String, as user: String? = nil, authorization: String? = nil,
              json: String? = nil, body: [UInt8]? = nil, contentType: String? = "application/json",
              bodyExceededLimit: Bool = false, origin: String? = nil, preflightMethod: String? = nil,
              ifMatch: String? = nil, ifNoneMatch: String? = nil, idempotencyKey: String? = nil,
              consistencyToken: String? = nil) throws -> ParsedReply {
        var header = authorization
        if header == nil, let user { header = "Bearer " + (try token(user)) }
        let bytes = body ?? json.map { Array($0.utf8) } ?? []
        var request = HTTPRequest(method: HTTPMethod(rawValue: method), target: target, authorization: header,
                                  contentType: bytes.isEmpty && !bodyExceededLimit ? nil : contentType,
                                  body: bytes, bodyExceededLimit: bodyExceededLimit)
        request.origin = origin
        request.accessControlRequestMethod = preflightMethod
        request.ifMatch = ifMatch
        request.ifNoneMatch = ifNoneMatch
        request.idempotencyKey = idempotencyKey
        request.consistencyToken = consistencyToken
        lastReply = application.respond(to: request)
        return ParsedReply(lastReply!.response)
    }

    /// Creates a task for `user` and returns its id.
    @discardableResult
    func create(_ user: String, _ json: String) throws -> Int64 {
        let reply = try send("POST", "/api/\(user)/tasks", as: user, json: json)
        #expect(reply.status == 201)
        guard case .number(let id)? = reply.object?["id"] else {
            Issue.record("create returned no id: \(reply.text)")
            return 0
        }
        return Int64(id)
    }
}

/// A response with its body parsed.
struct ParsedReply {
    let response: HTTPResponse
    var status: Int { response.status }
    var text: String { String(decoding: response.body, as: UTF8.self) }
    var json: JSONValue? { try? JSONParser().parse(response.body) }
    var object: [String: JSONValue]? { json?.objectValue }
    var array: [JSONValue]? { if case .array(let items)? = json { return items } else { return nil } }
    var code: String? { object?["code"]?.stringValue }
    func header(_ name: String) -> String? { response.header(name) }

    init(_ response: HTTPResponse) {
        self.response = response
    }

    /// True when the body is exactly the error shape with `code`.
    func isError(_ code: String) -> Bool {
        guard let object, object.count == 2, case .string(let detail)? = object["detail"], !detail.isEmpty else { return false }
        return object["code"] == .string(code)
    }
}

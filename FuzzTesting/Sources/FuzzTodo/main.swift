// The fuzzer for the parsers that see attacker-controlled bytes, through their public API.
// Built by scripts/fuzz.sh with -sanitize=fuzzer,address; main (the end of this file) hands the
// command line to libFuzzer's driver. FUZZ_TARGET picks the target: jwt, body, router, query,
// values (timestamps, entity tags, sync cursors), cgi, ical (iCalendar objects), xml (WebDAV bodies).
import APITables
import CLibFuzzer
import ICalendar
import JSON
import JWT
import SQLite
import SQLiteStorage
import TaskModel
import TodoAPI
import XML

#if canImport(Glibc)
import Glibc
#endif

private let target: String = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? "jwt"
private let secret = Array("fuzzing-secret-0123456789abcdefghijkl".utf8)
private let fixedNow: Double = 1_800_000_000

/// An Ed25519 key (RFC 8037's) under kid "k1", so EdDSA headers reach signature verification.
private final class FixedKeys: KeyProvider {
    let key = try! PublicKey(jwk: ["kty": .string("OKP"), "crv": .string("Ed25519"),
                                   "x": .string("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")])
    func key(for keyID: String) -> PublicKey? { keyID == "k1" ? key : nil }
    func keys(accepting algorithm: SignatureAlgorithm) -> [PublicKey] { key.accepts(algorithm) ? [key] : [] }
}

// nonisolated(unsafe): libFuzzer calls the entry point from one thread only.
nonisolated(unsafe) private let cursors = try! SyncCursor(key: [UInt8](repeating: 0x5A, count: SyncCursorKey.byteCount))
nonisolated(unsafe) private let verifier = try! JWTVerifier(configuration: JWTConfiguration(
    secret: secret, keys: FixedKeys(), issuer: "http://localhost:3000", audience: "http://localhost:3000"))

/// The whole application over an in-memory database, for the CGI target.
nonisolated(unsafe) private let application: TodoApplication = {
    let connection = try! TaskDatabase.open(TaskDatabase.Options(path: ":memory:"))
    let authenticator = try! Authenticator(configuration: JWTConfiguration(secret: secret), clock: { fixedNow })
    return TodoApplication(authenticator: authenticator, store: SQLiteTaskStore(connection: connection),
                           cors: CORSPolicy(allowedOrigins: ["http://localhost:3000"]), nowMilliseconds: { 1_800_000_000_000 }, log: { _ in })
}()
private let validToken = try! JWTSigner(secret: secret).sign(subject: "fuzz", issuedAt: Int64(fixedNow), lifetime: 600)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case "jwt":
        _ = try? verifier.verify(bytes, nowSeconds: fixedNow)
        _ = Base64URL.decode(bytes)
    case "body":
        _ = try? TaskInput.create(from: bytes)
        _ = try? TaskInput.changes(from: bytes)
        _ = try? TaskInput.completion(from: bytes)
        _ = try? JWKSet(json: bytes)
    case "router":
        if let route = Router.route(bytes) {
            switch route {
            case .task(_, let id), .completion(_, let id): _ = TaskID.parse(id)
            default: break
            }
        }
        _ = PercentDecoding.decode(bytes, plusAsSpace: true)
    case "query":
        _ = try? TaskListQuery(rawQuery: bytes)
    case "values":
        // Due dates and list filters (RFC 3339), If-Match / If-None-Match, sync cursors.
        if let instant = Timestamp.parse(bytes) {
            precondition(instant >= Timestamp.earliest && instant <= Timestamp.latest, "a parsed instant out of range")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        _ = EntityTags.ifMatch(text, version: 3)
        _ = EntityTags.ifNoneMatch(text, version: 3)
        _ = EntityTags.strongVersions(text)
        if let position = cursors.decode(text, userID: "fuzz") {
            precondition(cursors.decode(cursors.encode(position, userID: "fuzz"), userID: "fuzz") == position,
                         "a cursor does not survive its round trip")
            precondition(cursors.decode(text, userID: "another user") == nil, "a cursor decodes for another user")
        }
    case "ical":
        // iCalendar objects (CalDAV PUT bodies): whatever reads must write and read back the same,
        // and every date, time and zone in it must convert without trapping. The line scanner a
        // report copies kept text with stays within any bytes, and reads all the writer writes.
        bytes.withUnsafeBufferPointer { text in
            var lines = ICalLines(text)
            while let line = lines.next() {
                precondition(line.span.upperBound <= text.count && line.name.upperBound < line.span.upperBound, "a line out of its text")
                _ = lines.nesting(line)
                _ = lines.plainValue(line)
                _ = lines.property(line)
            }
        }
        guard let components = try? ICalReader.read(bytes) else { break }
        for component in components {
            let written = ICalWriter.write(component)
            precondition((try? ICalReader.read(written)) == [component], "a component does not survive its round trip")
            written.withUnsafeBufferPointer { text in
                var lines = ICalLines(text)
                var count = 0
                while let line = lines.next() {
                    count += 1
                    if let value = lines.plainValue(line) { precondition(lines.property(line)?.value == value, "a plain value its parse differs from") }
                }
                precondition(!lines.isMalformed && count > 1, "the scanner refuses a line the writer wrote")
            }
            let zones = CalendarZones(calendar: component)
            for nested in [component] + component.components {
                for property in nested.properties {
                    _ = property.textList
                    if let moment = ICalDateTime(property) { _ = moment.utcSeconds(zones: zones.zone); _ = moment.text }
                }
            }
        }
    case "xml":
        // WebDAV request bodies: whatever reads stays within the caps.
        guard let root = try? XMLReader.read(bytes) else { break }
        func depth(_ element: XMLElement) -> Int { 1 + (element.children.map(depth).max() ?? 0) }
        precondition(depth(root) <= XMLReader.maximumDepth, "an element deeper than the cap")
        precondition(root.attributes.count <= XMLReader.maximumAttributes, "more attributes than the cap")
    case "cgi":
        // NUL-separated NAME=VALUE meta-variables, then the body after an empty entry.
        // `/dav/` paths reach CalDAV: XML bodies, iCalendar objects, Basic credentials.
        var builder = CGIRequestBuilder()
        let parts = bytes.split(separator: 0, maxSplits: 16, omittingEmptySubsequences: false)
        var body: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if part.isEmpty {
                body = parts[(index + 1)...].joined(separator: [0]).map { $0 }
                break
            }
            let pair = part.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            var value = Array(pair.count > 1 ? pair[1] : [])
            if pair[0].elementsEqual("HTTP_AUTHORIZATION".utf8), value.elementsEqual("VALID".utf8) {
                value = Array("Bearer \(validToken)".utf8)
            }
            let name = Array(pair[0])
            name.withUnsafeBufferPointer { n in value.withUnsafeBufferPointer { v in builder.add(name: n, value: v) } }
        }
        let request = builder.build(body: Array(body.prefix(HTTPRequest.maximumBodySize)),
                                    bodyExceededLimit: body.count > HTTPRequest.maximumBodySize)
        let response = application.respond(to: request).response
        // Invariants: a status of the API's own table (never a 5xx: bad input is the client's
        // fault), and a JSON body on every error. The list was spelled here before and missed
        // 412, which an If-Match on a task that exists rightly gets.
        precondition(response.status < 500 && HTTPStatus.produced.contains { $0.status == response.status }, "status \(response.status)")
        precondition(response.status < 400 || !response.body.isEmpty, "error without body")
        _ = response.cgiHeader()
    default:
        fatalError("unknown FUZZ_TARGET \(target)")
    }
    return 0
}

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argumentCount, &arguments) { data, size in fuzzOneInput(data!, size) })

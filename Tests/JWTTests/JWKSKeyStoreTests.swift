import Crypto
import JSON
import HTTPFetch
import JWT
import Synchronization
import Testing

@Suite("JWKS key store")
struct JWKSKeyStoreTests {
    final class Source: @unchecked Sendable {
        let lock = Mutex(0)
        var document: [UInt8] = Array(#"{"keys":[]}"#.utf8)
        var maximumAge: Int?
        var failing = false
        var fetches: Int { lock.withLock { $0 } }
        func fetch() throws -> JWKSDocument {
            lock.withLock { $0 += 1 }
            if failing { throw KeyError("endpoint down") }
            return JWKSDocument(bytes: document, maximumAgeSeconds: maximumAge)
        }
    }

    final class Clock: @unchecked Sendable {
        var now: Double = 1000
    }

    static func jwks(_ keys: [(String, Ed25519SigningKey)]) throws -> [UInt8] {
        let entries = try keys.map { kid, key in
            #"{"kty":"OKP","crv":"Ed25519","kid":"\#(kid)","x":"\#(Base64URL.encode(try key.publicKeyBytes()))"}"#
        }
        return Array(#"{"keys":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    @Test func refetchesUnknownKeysAtMostOncePerInterval() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        let old = try Ed25519SigningKey()
        source.document = try Self.jwks([("old", old)])
        try store.reload()
        #expect(store.key(for: "old") != nil)
        #expect(source.fetches == 1)

        // Rotation: the new key appears at the source; the first unknown kid triggers a refetch.
        let new = try Ed25519SigningKey()
        source.document = try Self.jwks([("old", old), ("new", new)])
        #expect(store.key(for: "new") != nil)
        #expect(source.fetches == 2)
        // Unknown ids within the interval do not fetch again.
        #expect(store.key(for: "bogus-1") == nil)
        #expect(store.key(for: "bogus-2") == nil)
        #expect(source.fetches == 2)
        clock.now += 31
        #expect(store.key(for: "bogus-3") == nil)
        #expect(source.fetches == 3)
    }

    @Test func aFailingSourceKeepsTheKnownKeys() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        source.document = try Self.jwks([("kept", try Ed25519SigningKey())])
        try store.reload()
        source.failing = true
        #expect(throws: (any Error).self) { try store.reload() }
        clock.now += 60
        #expect(store.key(for: "unknown") == nil)
        #expect(store.key(for: "kept") != nil)
    }

    @Test func skipsUnusableKeysButKeepsTheRest() throws {
        let good = try Ed25519SigningKey()
        let document = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"good","x":"\#(Base64URL.encode(try good.publicKeyBytes()))"},{"kty":"RSA","kid":"tiny","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"AAAA"},7]}"#
        let set = try JWKSet(json: Array(document.utf8))
        #expect(Array(set.keys.keys) == ["good"])
        #expect(set.allKeys.count == 1)
        #expect(set.skipped.count == 3)
        #expect(throws: KeyError.self) { try JWKSet(json: Array(#"{"nokeys":[]}"#.utf8)) }
        #expect(throws: KeyError.self) { try JWKSet(json: Array("not json".utf8)) }
    }

    @Test func keysWithoutKeyIDAreUsableAndNamelessTokensTryThem() throws {
        let named = try Ed25519SigningKey()
        let nameless = try Ed25519SigningKey()
        let document = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"named","x":"\#(Base64URL.encode(try named.publicKeyBytes()))"},{"kty":"OKP","crv":"Ed25519","x":"\#(Base64URL.encode(try nameless.publicKeyBytes()))"},{"kty":"OKP","crv":"Ed25519","kid":7,"x":"\#(Base64URL.encode(try nameless.publicKeyBytes()))"}]}"#
        let set = try JWKSet(json: Array(document.utf8))
        #expect(Array(set.keys.keys) == ["named"])
        #expect(set.allKeys.count == 2)
        #expect(set.keys(accepting: .eddsa).count == 2)
        #expect(set.keys(accepting: .es256).isEmpty)
        #expect(set.skipped == ["key 2: kid is not a non-empty string"])
        #expect(set.description.contains("(no kid) (Ed25519)"))
    }

    @Test func aStaleSetIsRefetchedAndARemovedKeyStopsVerifying() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now }, source: { try source.fetch() })
        let retired = try Ed25519SigningKey()
        let current = try Ed25519SigningKey()
        source.document = try Self.jwks([("retired", retired), ("current", current)])
        try store.reload()
        source.document = try Self.jwks([("current", current)])
        clock.now += 299
        #expect(!store.refreshIfDue())
        #expect(store.key(for: "retired") != nil)
        clock.now += 1
        #expect(store.refreshIfDue())
        #expect(source.fetches == 2)
        // Gone from the set; the unknown id may refetch once, and finds it gone there too.
        #expect(store.key(for: "retired") == nil)
        #expect(store.key(for: "current") != nil)
        #expect(!store.refreshIfDue())
    }

    @Test func aShorterCacheControlMaxAgeIsHonouredAndALongerOneIsNot() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now }, source: { try source.fetch() })
        source.maximumAge = 10
        try store.reload()
        clock.now += 9
        #expect(!store.refreshIfDue())
        source.maximumAge = 86_400
        clock.now += 1
        #expect(store.refreshIfDue())
        clock.now += 299
        #expect(!store.refreshIfDue())  // the last fetch said a day, JWKS_MAX_AGE says 300
        clock.now += 1
        #expect(store.refreshIfDue())
        #expect(source.fetches == 3)
    }

    @Test func failedRefreshesKeepTheSetRetryEachIntervalAndAreReportedOncePerMinute() throws {
        let source = Source()
        let clock = Clock()
        let messages = Mutex<[String]>([])
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, maximumAge: 300, clock: { clock.now },
                                 log: { _, line in messages.withLock { $0.append(line) } }, source: { try source.fetch() })
        source.document = try Self.jwks([("kept", try Ed25519SigningKey())])
        try store.reload()
        source.failing = true
        clock.now += 300
        #expect(store.refreshIfDue())
        #expect(store.key(for: "kept") != nil)
        #expect(store.consecutiveFailures == 1)
        clock.now += 29
        #expect(!store.refreshIfDue())
        clock.now += 1
        #expect(store.refreshIfDue())
        clock.now += 30
        #expect(store.refreshIfDue())  // 60 s after the first report: reported again
        #expect(store.consecutiveFailures == 3)
        let failures = messages.withLock { $0 }
        #expect(failures.count == 2)
        #expect(failures.allSatisfy { $0.contains("could not be fetched") && $0.contains("keeping the 1 keys") })
        source.failing = false
        clock.now += 30
        #expect(store.refreshIfDue())
        #expect(store.consecutiveFailures == 0)
        #expect(messages.withLock { $0.last?.contains("loaded again after 3 failed attempts") } == true)
    }

    @Test func aChangedSetIsLoggedAndAnUnchangedOneIsNot() throws {
        let source = Source()
        let clock = Clock()
        let messages = Mutex<[String]>([])
        let store = JWKSKeyStore(sourceDescription: "test", maximumAge: 60, clock: { clock.now },
                                 log: { _, line in messages.withLock { $0.append(line) } }, source: { try source.fetch() })
        source.document = try Self.jwks([("one", try Ed25519SigningKey())])
        try store.reload()
        clock.now += 60
        store.refreshIfDue()
        #expect(messages.withLock { $0.isEmpty })
        source.document = try Self.jwks([("two", try Ed25519SigningKey())])
        clock.now += 60
        store.refreshIfDue()
        #expect(messages.withLock { $0 } .count == 1)
        #expect(messages.withLock { $0.first?.contains("changed: 1 keys: two (Ed25519)") } == true)
    }

    @Test func aNamelessTokenWithNoFittingKeyRefetchesOncePerInterval() throws {
        let source = Source()
        let clock = Clock()
        let store = JWKSKeyStore(sourceDescription: "test", refreshInterval: 30, clock: { clock.now }, source: { try source.fetch() })
        try store.reload()
        #expect(store.keys(accepting: .eddsa).isEmpty)
        #expect(source.fetches == 2)
        source.document = try Self.jwks([("new", try Ed25519SigningKey())])
        #expect(store.keys(accepting: .eddsa).isEmpty)  // within the interval: no fetch
        clock.now += 30
        #expect(store.keys(accepting: .eddsa).count == 1)
        #expect(source.fetches == 3)
    }
}

import Foundation
import TaskModel
import Testing
@testable import TodoAPI

@Suite("X-Consistency-Token")
struct ConsistencyTokenTests {
    @Test func aTokenNamesTheChangeItWasMadeFor() {
        #expect(ConsistencyToken.encode(42) == "ct1.42")
        #expect(ConsistencyToken.readConsistency("ct1.42") == .atLeast(42))
        #expect(ConsistencyToken.readConsistency(ConsistencyToken.encode(999_999_999_999_999_999)) == .atLeast(999_999_999_999_999_999))
    }

    @Test func severalTokensNeedTheHighestOfThem() {
        #expect(ConsistencyToken.readConsistency("ct1.7, ct1.30,ct1.12") == .atLeast(30))
    }

    @Test func noTokenReadsTheLatest() {
        #expect(ConsistencyToken.readConsistency(nil) == .latest)
        #expect(ConsistencyToken.readConsistency("") == .latest)
    }

    /// A token this service did not give is never an error: the read is served by the primary,
    /// which sees every write.
    @Test(arguments: ["42", "ct1.", "ct1.-1", "ct1.4a", "ct2.42", "CT1.42", "ct1.1234567890123456789", "ct1.42,", ",ct1.42",
                      "ct1.42, junk", "ct1. 42", "ct1.٤٢", "ct1.42\u{0}", String(repeating: "ct1.1,", count: 60)])
    func aMalformedTokenReadsTheLatest(_ header: String) {
        #expect(ConsistencyToken.readConsistency(header) == .latest)
    }

    @Test func nginxForwardsEveryHeaderAPageMaySend() throws {
        let conf = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/TodoAPITests/ConsistencyTokenTests.swift",
                                                                              with: "nginx/todo-fcgi-api.conf"), encoding: .utf8)
        let forwarded = Set(conf.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 2, words[0] == "fastcgi_param" else { return nil }
            return String(words[1])
        })
        for header in CORSPolicy.allowedHeaders.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let variable = header == "Content-Type" ? "CONTENT_TYPE" : "HTTP_" + header.uppercased().replacingOccurrences(of: "-", with: "_")
            #expect(forwarded.contains(variable), "nginx/todo-fcgi-api.conf does not forward \(header) (\(variable))")
            var builder = CGIRequestBuilder()
            builder.add(variable, "ct1.5")
            let request = builder.build(body: [], bodyExceededLimit: false)
            let read: [String: String?] = ["CONTENT_TYPE": request.contentType, "HTTP_AUTHORIZATION": request.authorization.map { String(decoding: $0, as: UTF8.self) },
                                           "HTTP_IF_MATCH": request.ifMatch, "HTTP_IF_NONE_MATCH": request.ifNoneMatch,
                                           "HTTP_IDEMPOTENCY_KEY": request.idempotencyKey, "HTTP_X_CONSISTENCY_TOKEN": request.consistencyToken,
                                           "HTTP_X_REQUEST_ID": request.requestID]
            #expect(read[variable] == .some("ct1.5"), "the worker does not read \(variable)")
        }
    }
}

import APITables
import Foundation
import Metrics
import Testing
import TaskModel
@testable import TodoAPI

/// The route, status and error-code tables against everything that is read from them: the
/// router, the metrics labels and nginx's allow map. Before, each kept its own copy: nginx's
/// 405 said `GET, HEAD, PUT, DELETE` for a task (no PATCH) and for `/tasks/changes`, and
/// /metrics counted the sync route as `(none)` and 410 as `other`.
@Suite("Route and status tables")
struct RouteTableTests {
    /// A path of each route, and paths of none.
    static let samples: [(String, RouteKind?)] = [
        ("/health", .health), ("/metrics", .metrics), ("/api/alice/tasks", .tasks), ("/api/a%2Fb/tasks", .tasks),
        ("/api/alice/tasks/changes", .changes), ("/api/alice/tasks/7", .task), ("/api/alice/tasks/%63hanges", .task),
        ("/api/alice/tasks/7/complete", .completion), ("/api", nil), ("/api/alice", nil), ("/api/alice/tasks/", nil),
        ("/api/alice/tasks/7/complete/x", nil), ("/api/alice/other", nil), ("/healthz", nil), ("/", nil),
        ("/api//tasks", nil), ("/api/alice/tasks/7/done", nil),
        ("/api/alice/app-passwords", .appPasswords), ("/api/alice/app-passwords/3", .appPassword), ("/api/alice/app-passwords/", nil),
        ("/api/alice/app-passwords/3/x", nil),
        ("/.well-known/caldav", .davDiscovery), ("/.well-known/caldav/", .davDiscovery), ("/.well-known/caldavx", nil),
        ("/dav", .dav), ("/dav/", .dav), ("/dav/principals/alice/", .dav), ("/dav/calendars/alice", .dav),
        ("/dav/calendars/alice/tasks/", .davCalendar), ("/dav/calendars/alice/tasks", .davCalendar),
        ("/dav/calendars/alice/tasks/a%20b.ics", .davObject), ("/dav/calendars/alice/other/x.ics", .dav),
        ("/dav/calendars/alice/tasks/x.ics/", .dav), ("/davx", nil),
    ]

    @Test func everyRouteKindIsRoutedAndSampled() {
        for (path, kind) in Self.samples {
            #expect(Router.route(Array(path.utf8))?.kind == kind, "\(path)")
        }
        #expect(Set(Self.samples.compactMap(\.1)) == Set(RouteKind.allCases))
    }

    /// nginx reads `$request_uri`; the first matching regular expression of the map wins.
    @Test func nginxsAllowMapClassifiesPathsAsTheRouterDoes() throws {
        let map = RouteKind.nginxAllowMap
        let entries = try map.split(separator: "\n").compactMap { line -> (NSRegularExpression, String)? in
            let parts = line.split(separator: "\"")
            guard parts.count >= 4, parts[1].hasPrefix("~") else { return nil }
            return (try NSRegularExpression(pattern: String(parts[1].dropFirst())), String(parts[3]))
        }
        #expect(entries.count == RouteKind.allCases.count)
        #expect(map.contains("default \"\";"))
        for (path, kind) in Self.samples {
            for uri in [path, path + "?limit=5"] {
                let match = entries.first { $0.0.firstMatch(in: uri, range: NSRange(uri.startIndex..., in: uri)) != nil }
                let expected = Router.route(Array(path.utf8))?.allowedMethods.map(\.rawValue).joined(separator: ", ")
                #expect(match?.1 == expected, "\(uri): nginx says \(match?.1 ?? "(no route)"), the worker \(expected ?? "(no route)") for \(String(describing: kind))")
            }
        }
        #expect(map.contains(#""GET, HEAD, PUT, PATCH, DELETE""#))
    }

    /// nginx's map and the worker apply one X-Request-ID rule.
    @Test func theRequestIDRuleIsTheSameForNginxAndTheWorker() throws {
        let pattern = try NSRegularExpression(pattern: RequestID.nginxPattern)
        for sample in ["a", "A.b_c-9", String(repeating: "x", count: 128), String(repeating: "x", count: 129), "", "has space",
                       "semi;colon", "ünï", "tab\t", "a/b", "trailing\n"] {
            let nginx = pattern.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)) != nil
            #expect(nginx == RequestID.isValid(Array(sample.utf8)), "\(sample.debugDescription)")
        }
        #expect(RequestID.nginxMap.contains("default $request_id;"))
        var builder = CGIRequestBuilder()
        builder.add("HTTP_X_REQUEST_ID", "trace-1")
        #expect(builder.build(body: [], bodyExceededLimit: false).requestID == "trace-1")
        var other = CGIRequestBuilder()
        other.add("HTTP_X_REQUEST_ID", "not ok")
        #expect(other.build(body: [], bodyExceededLimit: false).requestID == nil)
    }

    @Test func everyRouteAndStatusHasAMetricsLabel() {
        #expect(MetricsLayout.routes == RouteKind.allCases.map(\.template) + [RouteKind.noRouteLabel])
        for code in ErrorCode.allCases {
            #expect(MetricsLayout.statuses.contains(code.status), "\(code) → \(code.status)")
            #expect(HTTPStatus.reasonPhrase(code.status) != "Unknown", "\(code)")
        }
    }

    /// Through the application: every reply's route and status are labels the metrics know.
    @Test func repliesOfEveryKindHaveTheirLabels() throws {
        let h = try Harness(metrics: MetricsRouteTests.exposition)
        let id = try h.create("alice", #"{"title":"x","recurrence":null}"#)
        var statuses: Set<Int> = []
        let requests: [(String, String, String?, String?)] = [
            ("GET", "/health", nil, nil), ("GET", "/metrics", nil, nil), ("GET", "/nowhere", nil, nil),
            ("GET", "/api/alice/tasks", "alice", nil), ("POST", "/api/alice/tasks", "alice", #"{"title":"y"}"#),
            ("POST", "/api/alice/tasks", "alice", #"{"title":""}"#), ("GET", "/api/bob/tasks", "alice", nil),
            ("GET", "/api/alice/tasks", nil, nil), ("GET", "/api/alice/tasks/999", "alice", nil),
            ("TRACE", "/api/alice/tasks/\(id)", "alice", nil), ("PATCH", "/api/alice/tasks/\(id)/complete", "alice", nil),
            ("GET", "/api/alice/tasks/changes", "alice", nil), ("DELETE", "/api/alice/tasks/\(id)", "alice", nil),
            ("PUT", "/api/alice/tasks/\(id)", "alice", "{}"),
        ]
        for (method, path, user, json) in requests {
            let reply = try h.send(method, path, as: user, json: json)
            statuses.insert(reply.status)
            #expect(MetricsLayout.statuses.dropLast().contains(reply.status), "\(method) \(path) → \(reply.status)")
            let route = h.lastReply?.routeTemplate ?? RouteKind.noRouteLabel
            #expect(MetricsLayout.routes.contains(route), "\(route)")
        }
        #expect(statuses.isSuperset(of: [200, 201, 204, 400, 401, 403, 404, 405]))
        // The sync route has its own label, and 410 its own status.
        _ = try h.send("GET", "/api/alice/tasks/changes", as: "alice")
        #expect(h.lastReply?.routeTemplate == "/api/{user_id}/tasks/changes")
        #expect(MetricsLayout.statuses.contains(ErrorCode.cursorExpired.status))
    }
}

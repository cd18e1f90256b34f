import Testing
import TaskModel
@testable import TodoAPI

@Suite("CGI adapter")
struct CGIRequestBuilderTests {
    @Test func buildsTheRequestFromMetaVariables() {
        var builder = CGIRequestBuilder()
        for (name, value) in [("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/api/a%2Fb/tasks?limit=5&x=%20"),
                              ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", "2"),
                              ("HTTP_AUTHORIZATION", "Bearer t"), ("HTTP_ORIGIN", "http://localhost:3000"),
                              ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "PUT"), ("HTTP_COOKIE", "ignored=1")] {
            builder.add(name, value)
        }
        #expect(builder.announcedLength == 2)
        let request = builder.build(body: Array("{}".utf8), bodyExceededLimit: false)
        #expect(request.method == "POST")
        #expect(request.path == Array("/api/a%2Fb/tasks".utf8))
        #expect(request.query == Array("limit=5&x=%20".utf8))
        #expect(request.authorization == Array("Bearer t".utf8))
        #expect(request.contentType == "application/json")
        #expect(request.contentLength == 2)
        #expect(request.origin == "http://localhost:3000")
        #expect(request.accessControlRequestMethod == "PUT")
    }

    @Test func aNameOfTheSameLengthButOtherBytesIsIgnored() {
        var builder = CGIRequestBuilder()
        for (name, value) in [("REQUEST_METHOX", "DELETE"), ("HTTP_AUTHORIZATIOn", "Bearer forged"), ("request_uri", "/x"),
                              ("HTTP_IF_MATCH\0", "\"1\""), ("", "empty")] {
            builder.add(name, value)
        }
        let request = builder.build(body: [], bodyExceededLimit: false)
        #expect(request.method == "")
        #expect(request.authorization == nil)
        #expect(request.path.isEmpty)
        #expect(request.ifMatch == nil)
    }

    @Test(arguments: ["-1", "abc", "1e3", "99999999999999999999", " 5"])
    func rejectsMalformedContentLength(_ value: String) {
        var builder = CGIRequestBuilder()
        builder.add("CONTENT_LENGTH", value)
        #expect(builder.announcedLength == nil)
        #expect(builder.build(body: [], bodyExceededLimit: false).contentLength == nil)
    }

    @Test func emptyValuesMeanAbsent() {
        var builder = CGIRequestBuilder()
        builder.add("CONTENT_TYPE", "")
        builder.add("CONTENT_LENGTH", "")
        let request = builder.build(body: [], bodyExceededLimit: false)
        #expect(request.contentType == nil)
        #expect(request.contentLength == nil)
        #expect(!request.hasBody)
    }

    @Test func cgiHeaderHasStatusLengthAndNoInjectedLines() {
        let response = HTTPResponse(status: 201, headers: [("Location", "/a\r\nSet-Cookie: x=1")], body: Array("{}".utf8))
        let header = String(decoding: response.cgiHeader(), as: UTF8.self)
        #expect(header == "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\nLocation: /aSet-Cookie: x=1\r\n\r\n")
        let empty = String(decoding: HTTPResponse(status: 204).cgiHeader(), as: UTF8.self)
        #expect(empty == "Status: 204 No Content\r\nContent-Length: 0\r\n\r\n")
    }
}

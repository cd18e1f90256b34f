import APITables
import JSON
import TaskModel

/// A response ready to be written: status, headers and body.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Extra headers; `Content-Type` and `Content-Length` are added when writing.
    public var headers: [(name: String, value: String)]
    /// The body, JSON text unless `contentType` says otherwise, or empty.
    public var body: [UInt8]
    /// The media type of a non-empty body.
    public var contentType = "application/json"

    /// Creates a response; a non-empty body is JSON.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The CGI response header (RFC 3875 §6): a `Status` line, headers and the blank line; the body follows it.
    public func cgiHeader() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(192)
        output.append(contentsOf: "Status: ".utf8)
        output.append(contentsOf: String(status).utf8)
        output.append(UInt8(ascii: " "))
        output.append(contentsOf: HTTPStatus.reasonPhrase(status).utf8)
        output.append(contentsOf: "\r\n".utf8)
        if !body.isEmpty {
            output.append(contentsOf: "Content-Type: ".utf8)
            output.append(contentsOf: contentType.utf8.filter { $0 != 0x0D && $0 != 0x0A })
            output.append(contentsOf: "\r\n".utf8)
        }
        output.append(contentsOf: "Content-Length: ".utf8)
        output.append(contentsOf: String(body.count).utf8)
        output.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            output.append(contentsOf: name.utf8)
            output.append(contentsOf: ": ".utf8)
            // Header values are built by this service; refuse to emit a line break regardless.
            output.append(contentsOf: value.utf8.filter { $0 != 0x0D && $0 != 0x0A })
            output.append(contentsOf: "\r\n".utf8)
        }
        output.append(contentsOf: "\r\n".utf8)
        return output
    }
}

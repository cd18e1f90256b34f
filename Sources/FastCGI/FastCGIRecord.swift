/// FastCGI 1.0's record (§3.3), spelled once: an 8-byte header (version 1, type, request id,
/// content length, padding length, a reserved byte), then the content and the padding. The
/// dispatcher reads headers with it; a detached request frames its answer with it. libfcgi
/// reads and writes its own for the requests it handles.
public enum FastCGIRecord {
    /// The record types this project reads or writes.
    public enum Kind: UInt8, Sendable {
        case beginRequest = 1, endRequest = 3, params = 4, standardInput = 5, standardOutput = 6
    }

    /// The protocol's only version.
    public static let version: UInt8 = 1
    /// The header's length.
    public static let headerLength = 8
    /// The most content bytes one written record carries: under the 16-bit length, a multiple
    /// of 8 (no padding needed).
    public static let contentLimit = 65_528

    /// A record's header as read from the wire.
    public struct Header: Sendable, Equatable {
        /// The protocol version byte (1 is the only one).
        public let version: UInt8
        /// The record type byte (`Kind`'s raw values, or others this project never reads).
        public let type: UInt8
        /// The request the record belongs to (0: a management record).
        public let requestID: Int
        /// Content bytes after the header.
        public let contentLength: Int
        /// Padding bytes after the content.
        public let paddingLength: Int

        /// Header, content and padding.
        public var recordLength: Int { FastCGIRecord.headerLength + contentLength + paddingLength }
    }

    /// The header at `offset` of `bytes`; nil when fewer than 8 bytes are there.
    public static func header(at offset: Int, of bytes: UnsafeRawBufferPointer) -> Header? {
        guard offset + headerLength <= bytes.count else { return nil }
        return Header(version: bytes[offset], type: bytes[offset + 1],
                      requestID: Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]),
                      contentLength: Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5]),
                      paddingLength: Int(bytes[offset + 6]))
    }

    /// Appends a header for a record of `kind` with `contentLength` bytes (at most 65,535) and
    /// `paddingLength` more.
    public static func appendHeader(_ kind: Kind, requestID: UInt16, contentLength: Int, paddingLength: Int = 0,
                                    to out: inout [UInt8]) {
        out += [version, kind.rawValue, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
                UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), UInt8(paddingLength), 0]
    }

    /// `parts`, joined, as a responder's whole answer to request `requestID`: `FCGI_STDOUT`
    /// records of at most `contentLimit` bytes, the empty one that ends the stream, then
    /// `FCGI_END_REQUEST` (application status 0, `FCGI_REQUEST_COMPLETE`), as libfcgi frames one.
    /// Each byte of `parts` is copied once.
    public static func answer(requestID: UInt16, parts: [[UInt8]]) -> [UInt8] {
        let total = parts.reduce(0) { $0 + $1.count }
        var out: [UInt8] = []
        out.reserveCapacity(total + (total / contentLimit + 1) * (headerLength + 7) + 2 * headerLength + 8)
        var part = 0
        var inPart = 0
        var left = total
        while left > 0 {
            let length = min(contentLimit, left)
            let padding = (8 - length % 8) % 8
            appendHeader(.standardOutput, requestID: requestID, contentLength: length, paddingLength: padding, to: &out)
            var copied = 0
            while copied < length {
                let take = min(length - copied, parts[part].count - inPart)
                out += parts[part][inPart..<inPart + take]
                copied += take
                inPart += take
                if inPart == parts[part].count {
                    part += 1
                    inPart = 0
                }
            }
            out += repeatElement(0, count: padding)
            left -= length
        }
        appendHeader(.standardOutput, requestID: requestID, contentLength: 0, to: &out)
        appendHeader(.endRequest, requestID: requestID, contentLength: 8, to: &out)
        out += [0, 0, 0, 0, 0, 0, 0, 0]  // application status 0, FCGI_REQUEST_COMPLETE, reserved
        return out
    }
}

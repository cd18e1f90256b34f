import CCrypto

/// A libcrypto call that failed, with OpenSSL's own reason when it gave one.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// What the wrapper was doing.
    public let operation: String
    /// OpenSSL's error-queue text, or "unknown" when the queue was empty.
    public let reason: String

    init(_ operation: String) {
        self.operation = operation
        let code = ERR_get_error()
        if code == 0 {
            reason = "unknown"
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
    }

    public var description: String { "\(operation) failed: \(reason)" }
}

import CCrypto

/// A libcrypto call that failed, with OpenSSL's own reason when it gave one.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// What the wrapper was doing.
    public let operation: String
    /// OpenSSL's error-queue text, or "unknown" when the queue was empty.
    public let reason: String

    /// An error for `operation` with `reason`; touches nothing.
    init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// The error of the libcrypto call that just failed in `operation`: takes the reason from
    /// this thread's OpenSSL error queue and empties the queue, so a later failure is not
    /// explained by this one's leftovers. Call it right after the failing call.
    static func takingQueue(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        var reason = "unknown"
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        ERR_clear_error()
        return CryptoError(operation: operation, reason: reason)
    }

    public var description: String { "\(operation) failed: \(reason)" }
}

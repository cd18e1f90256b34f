#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with the errno it left, read right at the failing call.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The call that failed, e.g. `epoll_ctl(ADD)`.
    public let operation: String
    /// `errno` as the call left it.
    public let errorNumber: Int32

    /// Records `operation` failing with `errorNumber`.
    public init(_ operation: String, errorNumber: Int32) {
        self.operation = operation
        self.errorNumber = errorNumber
    }

    public var description: String { "\(operation) failed: \(String(cString: strerror(errorNumber)))" }
}

/// Runs a system call that returns -1 on failure, and turns that into a `SystemCallError`
/// carrying the errno of this very call (no other code runs in between).
@inline(__always)
func systemCall<Result: BinaryInteger>(_ operation: @autoclosure () -> String,
                                       _ body: () -> Result) throws(SystemCallError) -> Result {
    let result = body()
    if result == -1 { throw SystemCallError(operation(), errorNumber: errno) }
    return result
}

#if canImport(Glibc)
import Glibc
#endif

/// Writes whole lines to stderr (the journal under systemd) with one write(2) each, so threads never interleave.
enum Log {
    @Sendable static func line(_ message: String) {
        var text = "todo-fcgi[\(getpid())]: " + message + "\n"
        text.withUTF8 { bytes in
            _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count)
        }
    }
}

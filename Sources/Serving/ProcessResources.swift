#if canImport(Glibc)
import Glibc
#endif

/// What this process holds, read from /proc and the file system for the metrics.
struct ProcessResources {
    var residentBytes: UInt64 = 0
    var openDescriptors: UInt64 = 0
    var databaseBytes: UInt64 = 0
    var walBytes: UInt64 = 0

    /// Now, for this process and the SQLite database at `databaseFile` (none for a server database).
    static func current(databaseFile: String?) -> ProcessResources {
        var resources = ProcessResources()
        // /proc/self/statm: "size resident shared ..." in pages.
        let fields = Self.readSmallFile("/proc/self/statm").split(separator: " ")
        if fields.count >= 2, let pages = UInt64(fields[1]) {
            resources.residentBytes = pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        }
        if let directory = opendir("/proc/self/fd") {
            var count: UInt64 = 0
            while let entry = readdir(directory) {
                if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
            }
            closedir(directory)
            resources.openDescriptors = count > 0 ? count - 1 : 0  // not the directory's own descriptor
        }
        guard let database = databaseFile else { return resources }
        var status = stat()
        if stat(database, &status) == 0 { resources.databaseBytes = UInt64(status.st_size) }
        if stat(database + "-wal", &status) == 0 { resources.walBytes = UInt64(status.st_size) }
        return resources
    }

    /// The start of a small file under /proc (at most 255 bytes); "" when it cannot be read.
    private static func readSmallFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, 255)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }
}

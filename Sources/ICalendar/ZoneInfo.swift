#if canImport(Glibc)
import Glibc
#endif
import Locks

/// A zone read from a TZif file (RFC 8536), as the system's tzdata ships them: the offsets of
/// its listed transitions, then its POSIX footer rule for every later instant. A class: one
/// read zone is shared by every lookup, never copied (a report looks one up per task).
public final class ZoneInfo: ZoneOffsets, Sendable {
    /// The transition instants, ascending (seconds since the epoch).
    let transitions: [Int64]
    /// The offset in effect from each transition on.
    let offsetsAfter: [Int64]
    /// The offset before the first transition (time type 0).
    let initialOffset: Int64
    /// The footer's rule for instants after the last transition, when the file has one.
    let footer: PosixZoneRule?

    /// The zone in `bytes` (a TZif file of any version), nil when they are not one.
    public init?(tzif bytes: [UInt8]) {
        var reader = TZifReader(bytes: bytes)
        guard let header = reader.header() else { return nil }
        if header.version >= 2 {
            // Skip the 32-bit block, read the 64-bit one and the footer.
            guard reader.skip(header.blockSize(timeSize: 4)), let second = reader.header(),
                  let block = reader.block(second, timeSize: 8) else { return nil }
            transitions = block.transitions
            offsetsAfter = block.offsetsAfter
            initialOffset = block.initialOffset
            footer = reader.footer().flatMap(PosixZoneRule.init)
        } else {
            guard let block = reader.block(header, timeSize: 4) else { return nil }
            transitions = block.transitions
            offsetsAfter = block.offsetsAfter
            initialOffset = block.initialOffset
            footer = nil
        }
    }

    /// The offset at `utcSeconds`.
    public func offset(atUTC utcSeconds: Int64) -> Int64 {
        guard let last = transitions.last else { return footer?.offset(atUTC: utcSeconds) ?? initialOffset }
        if utcSeconds >= last, let footer { return footer.offset(atUTC: utcSeconds) }
        guard utcSeconds >= transitions[0] else { return initialOffset }
        var low = 0
        var high = transitions.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if transitions[middle] <= utcSeconds { low = middle } else { high = middle - 1 }
        }
        return offsetsAfter[low]
    }
}

/// A cursor over a TZif file's bytes.
private struct TZifReader {
    struct Header {
        let version: Int
        let utIndicators, standardIndicators, leapSeconds, transitions, types, characters: Int

        func blockSize(timeSize: Int) -> Int {
            transitions * (timeSize + 1) + types * 6 + characters + leapSeconds * (timeSize + 4) + standardIndicators + utIndicators
        }
    }

    let bytes: [UInt8]
    var index = 0

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, bytes.count - index >= count else { return false }
        index += count
        return true
    }

    mutating func integer(_ size: Int) -> Int64? {
        guard bytes.count - index >= size else { return nil }
        var value: UInt64 = 0
        for byte in bytes[index..<(index + size)] { value = value << 8 | UInt64(byte) }
        index += size
        // Sign-extend: TZif integers are two's complement.
        let shift = UInt64(64 - size * 8)
        return Int64(bitPattern: value << shift) >> Int64(shift)
    }

    mutating func header() -> Header? {
        guard bytes.count - index >= 44, Array(bytes[index..<(index + 4)]) == Array("TZif".utf8) else { return nil }
        let versionByte = bytes[index + 4]
        let version = versionByte == 0 ? 1 : Int(versionByte) - 0x30
        index += 20
        var counts: [Int] = []
        for _ in 0..<6 {
            guard let count = integer(4), count >= 0, count < 1 << 20 else { return nil }
            counts.append(Int(count))
        }
        return Header(version: version, utIndicators: counts[0], standardIndicators: counts[1], leapSeconds: counts[2],
                      transitions: counts[3], types: counts[4], characters: counts[5])
    }

    mutating func block(_ header: Header, timeSize: Int) -> (transitions: [Int64], offsetsAfter: [Int64], initialOffset: Int64)? {
        guard header.types >= 1, bytes.count - index >= header.blockSize(timeSize: timeSize) else { return nil }
        var transitions: [Int64] = []
        for _ in 0..<header.transitions {
            guard let time = integer(timeSize) else { return nil }
            transitions.append(time)
        }
        let typeIndexes = bytes[index..<(index + header.transitions)].map(Int.init)
        index += header.transitions
        var offsets: [Int64] = []
        for _ in 0..<header.types {
            guard let offset = integer(4) else { return nil }
            offsets.append(offset)
            index += 2
        }
        guard typeIndexes.allSatisfy({ $0 < offsets.count }) else { return nil }
        _ = skip(header.characters + header.leapSeconds * (timeSize + 4) + header.standardIndicators + header.utIndicators)
        return (transitions, typeIndexes.map { offsets[$0] }, offsets[0])
    }

    /// The footer's TZ string: the text between the two newlines after the 64-bit block.
    mutating func footer() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\n") else { return nil }
        guard let end = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\n")), end > index + 1 else { return nil }
        return String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
    }
}

/// The system's zones by IANA name (`Europe/Berlin`), read once each from the tzdata
/// directory and kept for the life of the process.
public final class ZoneDirectory: Sendable {
    /// Debian's tzdata, the default.
    public static let system = ZoneDirectory(path: "/usr/share/zoneinfo")

    /// The directory of TZif files.
    public let path: String
    private let zones = Locked<[String: ZoneInfo?]>([:])

    /// A directory of TZif files at `path`.
    public init(path: String) { self.path = path }

    /// The zone named `name`, nil when the name is not a plausible IANA name or no file has it.
    public func zone(named name: String) -> ZoneInfo? {
        // Only names that passed the check are kept, so a kept one needs no second check.
        if let known = zones.withLock({ $0[name] }) { return known }
        guard Self.isZoneName(name) else { return nil }
        let loaded = Self.readFile(path + "/" + name).flatMap { ZoneInfo(tzif: $0) }
        zones.withLock { cache in
            if cache.count < 1024 { cache[name] = loaded }
        }
        return loaded
    }

    /// Letters, digits, `_ + -` in `/`-separated parts, none empty or starting with a dot: never
    /// a path out of the directory.
    static func isZoneName(_ name: String) -> Bool {
        guard !name.utf8.isEmpty, name.utf8.count <= 64 else { return false }
        var partIsEmpty = true
        for byte in name.utf8 {
            if byte == UInt8(ascii: "/") {
                guard !partIsEmpty else { return false }
                partIsEmpty = true
            } else {
                guard ICalReader.isNameByte(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+") else { return false }
                partIsEmpty = false
            }
        }
        return !partIsEmpty
    }

    /// A regular file's bytes, at most 1 MiB; nil when it cannot be read.
    private static func readFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size <= 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }
}

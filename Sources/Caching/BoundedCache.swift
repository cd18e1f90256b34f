/// A cache of at most `capacity` entries that forgets the least recently used one to make room.
///
/// For per-connection prepared statements, whose keys a client can vary (list-query shapes):
/// without a bound, every shape ever asked for stays prepared for the connection's life. A hit
/// costs one hash lookup; a miss at capacity scans the entries once for the oldest (capacities
/// are small, and misses are rare for the shapes a client actually uses).
public struct BoundedCache<Key: Hashable, Value> {
    /// The most entries kept.
    public let capacity: Int
    private var entries: [Key: (value: Value, lastUse: UInt64)] = [:]
    private var uses: UInt64 = 0

    /// An empty cache of at most `capacity` (at least 1) entries.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        entries.reserveCapacity(self.capacity)
    }

    /// How many entries are kept now.
    public var count: Int { entries.count }

    /// The value for `key`, marked as used now; nil when it is not kept.
    public mutating func value(for key: Key) -> Value? {
        uses &+= 1
        let now = uses
        guard let index = entries.index(forKey: key) else { return nil }
        entries.values[index].lastUse = now
        return entries.values[index].value
    }

    /// Keeps `value` for `key` (replacing any value it had), and returns the least recently used
    /// entry it evicted to stay within `capacity`, if it had to: the caller releases it.
    @discardableResult
    public mutating func insert(_ value: Value, for key: Key) -> (key: Key, value: Value)? {
        uses &+= 1
        var evicted: (key: Key, value: Value)?
        if entries[key] == nil, entries.count >= capacity,
           let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries.removeValue(forKey: oldest.key)
            evicted = (oldest.key, oldest.value.value)
        }
        entries[key] = (value, uses)
        return evicted
    }

    /// Forgets `key`, returning its value.
    @discardableResult
    public mutating func removeValue(for key: Key) -> Value? {
        entries.removeValue(forKey: key)?.value
    }

    /// Forgets every entry.
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
    }
}

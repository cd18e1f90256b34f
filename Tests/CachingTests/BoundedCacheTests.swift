import Caching
import Testing

@Suite("Bounded cache")
struct BoundedCacheTests {
    @Test func keepsAtMostItsCapacityAndEvictsTheLeastRecentlyUsed() {
        var cache = BoundedCache<Int, String>(capacity: 3)
        #expect(cache.insert("a", for: 1) == nil)
        #expect(cache.insert("b", for: 2) == nil)
        #expect(cache.insert("c", for: 3) == nil)
        #expect(cache.value(for: 1) == "a")  // 2 is now the least recently used
        let evicted = cache.insert("d", for: 4)
        #expect(evicted?.key == 2 && evicted?.value == "b")
        #expect(cache.count == 3 && cache.value(for: 2) == nil)
        #expect(cache.value(for: 1) == "a" && cache.value(for: 3) == "c" && cache.value(for: 4) == "d")
    }

    @Test func replacingAKeyEvictsNothing() {
        var cache = BoundedCache<Int, String>(capacity: 2)
        cache.insert("a", for: 1)
        cache.insert("b", for: 2)
        #expect(cache.insert("a2", for: 1) == nil)
        #expect(cache.count == 2 && cache.value(for: 1) == "a2")
    }

    @Test func aStormOfDistinctKeysStaysBoundedAndKeepsTheHotOnes() {
        var cache = BoundedCache<Int, Int>(capacity: 16)
        var evictions = 0
        for key in 0..<10_000 {
            if cache.value(for: -1) == nil { cache.insert(-1, for: -1) }  // a hot key, used between every miss
            if cache.insert(key, for: key) != nil { evictions += 1 }
            #expect(cache.count <= 16)
        }
        #expect(cache.value(for: -1) == -1)
        #expect(evictions == 10_000 - 15)
    }

    @Test func removal() {
        var cache = BoundedCache<String, Int>(capacity: 0)  // at least one entry
        cache.insert(1, for: "x")
        #expect(cache.capacity == 1 && cache.removeValue(for: "x") == 1 && cache.count == 0)
        cache.insert(2, for: "y")
        cache.removeAll()
        #expect(cache.value(for: "y") == nil)
    }
}

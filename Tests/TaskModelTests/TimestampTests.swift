import Testing
@testable import TaskModel

@Suite("Timestamps")
struct TimestampTests {
    @Test(arguments: [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_123, "2000-02-29T00:00:00.123Z"),
        (1_795_341_625_279, "2026-11-22T10:00:25.279Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ] as [(Int64, String)])
    func formatsRFC3339Milliseconds(_ millis: Int64, _ expected: String) {
        #expect(Timestamp.format(milliseconds: millis) == expected)
    }
}

import JSON
import JWT
import Testing

@Suite("Base64url")
struct Base64URLTests {
    @Test(arguments: [[], [0], [0, 1], [0, 1, 2], [255, 254, 253, 252], Array(0...255)] as [[UInt8]])
    func roundTrips(_ bytes: [UInt8]) {
        let encoded = Base64URL.encode(bytes)
        #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
        #expect(Base64URL.decode(Array(encoded.utf8)) == bytes)
    }

    @Test(arguments: ["A", "AA=", "AB", "AAB", "A+A", "A/A", "A A", "QQ==", "QR"])
    func rejectsNonCanonical(_ text: String) {
        #expect(Base64URL.decode(Array(text.utf8)) == nil)
    }
}

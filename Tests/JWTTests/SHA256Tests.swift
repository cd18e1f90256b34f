import Crypto
import JSON
import JWT
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    @Test func matchesFIPS180Vectors() throws {
        let abc = try SHA256.hash(Array("abc".utf8))
        let hex: String = abc.map { (byte: UInt8) -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexPrefix(of: Array("".utf8)) == "e3b0c44298fc")
    }
}

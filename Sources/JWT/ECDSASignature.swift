/// JWS carries ECDSA signatures as raw `r || s` (RFC 7518 §3.4); OpenSSL wants DER.
enum ECDSASignature {
    /// The DER `SEQUENCE { INTEGER r, INTEGER s }` for a raw signature of exactly `2 * coordinateLength` bytes.
    static func der(fromRaw raw: [UInt8], coordinateLength: Int) -> [UInt8]? {
        guard raw.count == 2 * coordinateLength else { return nil }
        let r = integer(raw[..<coordinateLength])
        let s = integer(raw[coordinateLength...])
        let body = r + s
        return [0x30] + length(body.count) + body
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var value = Array(bytes.drop { $0 == 0 })
        if value.isEmpty { value = [0] }
        if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
        return [0x02] + length(value.count) + value
    }

    private static func length(_ count: Int) -> [UInt8] {
        count < 0x80 ? [UInt8(count)] : [0x81, UInt8(count)]
    }
}

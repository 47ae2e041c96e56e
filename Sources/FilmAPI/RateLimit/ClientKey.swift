/// Whom a counter belongs to, in 16 bytes: an IPv4 address, an IPv6 prefix (`/64` by
/// default, so one host cannot multiply its allowance across its own subnet), or an API key id.
struct ClientKey: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// IPv4 addresses whole; IPv6 addresses cut to their first `ipv6Prefix` bits.
    init(address: IPAddress, ipv6Prefix: Int) {
        let keyed = address.isIPv4 ? address : address.masked(to: ipv6Prefix)
        self.init(high: keyed.high, low: keyed.low)
    }

    /// An API key id, as `ff` followed by the id's bytes: ff00::/8 is multicast, never the
    /// source address of a connection, so a key can never share a counter with an address.
    init(keyID: String) {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[0] = 0xFF
        for (offset, byte) in keyID.utf8.prefix(15).enumerated() { bytes[offset + 1] = byte }
        self.init(bytes: bytes)
    }

    /// The key of requests whose peer address is not an IP address (nothing to tell them apart).
    static let unknown = ClientKey(high: 0, low: 0)

    private init(bytes: [UInt8]) {
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(bytes[index])
            low = low << 8 | UInt64(bytes[index + 8])
        }
        self.init(high: high, low: low)
    }
}

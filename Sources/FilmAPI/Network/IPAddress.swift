#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as 128 bits (IPv4 as `::ffff:a.b.c.d`), so that ranges and prefixes
/// work the same for both. Two words, no heap: every request parses its peer's address.
struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The first and last 64 bits, in network order (the first byte is the top byte of `high`).
    let high: UInt64
    let low: UInt64

    var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let (high, low) = text.withUTF8(Self.parse) else { return nil }
        self.high = high
        self.low = low
    }

    /// inet_pton on a NUL-terminated copy on the stack: on the bytes, as the String checks and
    /// C-string bridging cost more than the parse itself.
    private static func parse(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        var text = utf8[...]
        if text.first == UInt8(ascii: "["), text.last == UInt8(ascii: "]") { text = text.dropFirst().dropLast() }
        // The longest address (IPv4-mapped IPv6) is 45 bytes; a NUL would end the C string early.
        guard text.count < 64, !text.contains(0) else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { cText -> (UInt64, UInt64)? in
            let base = cText.baseAddress!
            let source = UnsafeBufferPointer(rebasing: text)
            if let start = source.baseAddress { UnsafeMutableRawPointer(base).copyMemory(from: start, byteCount: source.count) }
            base[source.count] = 0
            var v4 = in_addr()
            if inet_pton(AF_INET, base, &v4) == 1 { return (0, 0xFFFF << 32 | UInt64(UInt32(bigEndian: v4.s_addr))) }
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, base, &v6) == 1 else { return nil }
            return withUnsafeBytes(of: v6) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
        }
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The address with every bit after the first `prefix` bits cleared.
    func masked(to prefix: Int) -> IPAddress {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
        return IPAddress(high: high & mask(prefix), low: low & mask(prefix - 64))
    }

    var description: String {
        if isIPv4 { return (0..<4).map { String(low >> (24 - 8 * $0) & 0xFF) }.joined(separator: ".") }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        return String(cString: buffer)
    }
}

/// An address or CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
struct AddressRange: Sendable, Hashable {
    let network: IPAddress
    /// The prefix length in the 128-bit space.
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        let width = address.isIPv4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...width).contains(given) else { return nil }
            length = given
        }
        prefix = address.isIPv4 ? length + 96 : length
        network = address.masked(to: prefix)
    }

    func contains(_ address: IPAddress) -> Bool {
        address.masked(to: prefix) == network
    }
}

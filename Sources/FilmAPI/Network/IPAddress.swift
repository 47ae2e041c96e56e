#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as 16 bytes (IPv4 as `::ffff:a.b.c.d`), so that ranges and prefixes
/// work the same for both.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF }

    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let raw = withUnsafeBytes(of: v4) { Array($0) }
            bytes = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + raw
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: v6) { Array($0) }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// The address with every bit after the first `prefix` bits cleared.
    public func masked(to prefix: Int) -> IPAddress {
        var out = bytes
        for index in 0..<16 {
            let keep = max(0, min(8, prefix - index * 8))
            out[index] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        return IPAddress(bytes: out)
    }

    public var description: String {
        if isIPv4 { return bytes[12...].map(String.init).joined(separator: ".") }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        return String(cString: buffer)
    }
}

/// An address or CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
public struct AddressRange: Sendable, Hashable {
    public let network: IPAddress
    /// The prefix length in the 128-bit space.
    public let prefix: Int

    public init?(_ text: String) {
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

    public func contains(_ address: IPAddress) -> Bool {
        address.masked(to: prefix) == network
    }
}

/// Who the client is (SPEC §2): the TCP peer, unless the peer is a trusted proxy. Then the
/// forwarded hops are walked right to left past trusted proxies, and the first hop that is
/// not trusted is the client; a client can prepend whatever it likes, but only the entries
/// the trusted proxies appended are ever reached. A hop that is not an address ends the walk
/// at the last trusted one; when every hop is trusted, the farthest is the client.
public struct ClientAddressResolver: Sendable {
    let trusted: [AddressRange]

    public init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap(AddressRange.init)
    }

    /// The client behind `peer`: the peer itself unless it is a trusted proxy.
    public func client(of peer: IPAddress, headers: HTTPHeaders) -> IPAddress {
        guard !trusted.isEmpty, isTrusted(peer) else { return peer }
        var client = peer
        for hop in ForwardedHops.hops(in: headers).reversed() {
            guard let address = IPAddress(hop) else { return client }
            client = address
            if !isTrusted(address) { return client }
        }
        return client
    }

    public var hasTrustedProxies: Bool { !trusted.isEmpty }

    public func isTrusted(_ address: IPAddress) -> Bool {
        trusted.contains { $0.contains(address) }
    }
}

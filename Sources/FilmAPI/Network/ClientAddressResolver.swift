/// Who the client is (SPEC §2): the TCP peer, unless the peer is a trusted proxy. Then the
/// forwarded hops are walked right to left past trusted proxies, and the first hop that is
/// not trusted is the client; a client can prepend whatever it likes, but only the entries
/// the trusted proxies appended are ever reached. A hop that is not an address ends the walk
/// at the last trusted one; when every hop is trusted, the farthest is the client.
struct ClientAddressResolver: Sendable {
    let trusted: [AddressRange]

    init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap(AddressRange.init)
    }

    /// The client behind `peer`: the peer itself unless it is a trusted proxy.
    func client(of peer: IPAddress, headers: HTTPHeaders) -> IPAddress {
        guard !trusted.isEmpty, isTrusted(peer) else { return peer }
        var client = peer
        for hop in ForwardedHops.hops(in: headers).reversed() {
            guard let address = IPAddress(hop) else { return client }
            client = address
            if !isTrusted(address) { return client }
        }
        return client
    }

    var hasTrustedProxies: Bool { !trusted.isEmpty }

    func isTrusted(_ address: IPAddress) -> Bool {
        trusted.contains { $0.contains(address) }
    }
}

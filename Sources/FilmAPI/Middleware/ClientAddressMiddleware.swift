/// Resolves who the client is before anything counts it: the peer, or, behind trusted
/// proxies, the address they forwarded (`context.facts.clientAddress`, logged as `client.address`).
struct ClientAddressMiddleware: Middleware {
    let resolver: ClientAddressResolver

    init(resolver: ClientAddressResolver) {
        self.resolver = resolver
    }

    func enter(_ request: Request, context: inout RequestContext) -> Entry {
        if let peer = IPAddress(request.peer.host) {
            let client = resolver.client(of: peer, headers: request.headers)
            context.facts.clientIP = client
            if client != peer { context.facts.clientAddress = client.description }
        }
        return .proceed
    }
}

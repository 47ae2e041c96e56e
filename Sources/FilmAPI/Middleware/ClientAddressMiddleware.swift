/// Resolves who the client is before anything counts it: the peer, or, behind trusted
/// proxies, the address they forwarded (`context.clientAddress`, logged as `client.address`).
public struct ClientAddressMiddleware: Middleware {
    let resolver: ClientAddressResolver

    public init(resolver: ClientAddressResolver) {
        self.resolver = resolver
    }

    public func enter(_ request: Request, context: RequestContext) -> Response? {
        if let peer = IPAddress(request.peer.host) {
            let client = resolver.client(of: peer, headers: request.headers)
            context.clientIP = client
            if client != peer { context.clientAddress = client.description }
        }
        return nil
    }
}

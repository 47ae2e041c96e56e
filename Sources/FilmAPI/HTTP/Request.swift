/// One HTTP request, fully received: what the middleware chain and the handlers see.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The request-target exactly as sent (`/films?limit=5`).
    public var target: String
    /// The path part of the target, not percent-decoded (routes match raw segments).
    public var path: String
    public var query: QueryParameters
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The address of the TCP peer (a proxy, when there is one).
    public var peer: PeerAddress
    /// Whether the request arrived over TLS.
    public var isSecure: Bool

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                peer: PeerAddress = PeerAddress(host: "127.0.0.1", port: 0), isSecure: Bool = false) {
        self.method = method
        self.target = target
        if let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<mark])
            query = QueryParameters(String(target[target.utf8.index(after: mark)...]))
        } else {
            path = target
            query = QueryParameters("")
        }
        self.headers = headers
        self.body = body
        self.peer = peer
        self.isSecure = isSecure
    }
}

/// Where a connection came from.
public struct PeerAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

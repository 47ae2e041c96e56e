/// One HTTP request, fully received: what the middleware chain and the handlers see.
struct Request: Sendable {
    var method: HTTPMethod
    /// The request-target exactly as sent (`/films?limit=5`).
    var target: String
    /// The path part of the target, not percent-decoded (routes match raw segments).
    var path: String
    var query: QueryParameters
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The address of the TCP peer (a proxy, when there is one).
    var peer: PeerAddress
    /// Whether the request arrived over TLS.
    var isSecure: Bool

    init(method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
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
struct PeerAddress: Sendable, Hashable {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

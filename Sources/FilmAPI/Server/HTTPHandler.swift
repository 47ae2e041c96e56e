/// What the transport hands requests to: the application, or a test double.
protocol HTTPHandler: Sendable {
    /// Answers one complete request, now or later (on the completion's queue, the request's
    /// loop). Never fails: errors are responses by now.
    func start(_ request: Request) -> Answer<Response>
    /// Answers a request refused before it reached a handler (malformed, too large, ambiguous
    /// framing, too slow): the transport sends it with `Connection: close`. `target` is empty
    /// when the request line never parsed.
    func refuse(_ status: HTTPStatus, method: HTTPMethod, target: String, peer: PeerAddress) -> Response
}

/// The transport limits of SPEC §6 that the evhttp server enforces.
struct TransportLimits: Sendable, Equatable {
    var maxBodyBytes: Int
    var maxHeaderBytes: Int
    var maxURIBytes: Int
    var headerTimeoutMilliseconds: Int
    /// The whole request, head and body, from its first byte.
    var requestTimeoutMilliseconds: Int
    var idleTimeoutSeconds: Int
    var maxConnections: Int

    init(maxBodyBytes: Int = 16384, maxHeaderBytes: Int = 16384, maxURIBytes: Int = 4096,
         headerTimeoutMilliseconds: Int = 10000, requestTimeoutMilliseconds: Int = 30000, idleTimeoutSeconds: Int = 60,
         maxConnections: Int = 1024) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxURIBytes = maxURIBytes
        self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxConnections = maxConnections
    }
}

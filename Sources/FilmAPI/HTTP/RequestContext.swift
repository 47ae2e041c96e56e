/// What the chain learns about one request as it runs: filled by the middleware that knows a
/// thing (auth the key id, the limiter its decision), read by the ones that report it (logs,
/// metrics). One request, one task: never shared between requests.
public final class RequestContext: @unchecked Sendable {
    public let requestID: String
    /// When the head of the request had arrived (monotonic).
    public let startedAt: ContinuousClock.Instant
    /// The route template (`/films/{id}`), nil for an unknown path.
    public var route: String?
    public var parameters: [String: String] = [:]
    public var endpoint: Endpoint?
    /// The client address after trusted-proxy resolution (equals the peer without proxies).
    public var clientAddress: String
    /// The same client as an address (nil when the peer is not an IP address).
    public var clientIP: IPAddress?
    /// Set by authentication when a valid key was sent.
    public var keyID: String?
    public var role: Role?
    /// Why the key the request sent was refused (it is answered 401 once rate limiting has run).
    public var authFailure: AuthFailure?
    /// The limiter's verdict: `allowed`, `rejected`, `dry_run_rejected`, `exempt`, `disabled`.
    public var rateLimitDecision: String = "exempt"
    /// The limits that applied to a request the limiter let through, for its response headers.
    public var rateLimit: RateLimitResult?
    /// The security event this request amounts to (`auth_failure`, `forbidden`, ...), if any.
    public var securityEvent: String?

    public init(requestID: String, clientAddress: String, startedAt: ContinuousClock.Instant = .now) {
        self.requestID = requestID
        self.clientAddress = clientAddress
        self.startedAt = startedAt
    }
}

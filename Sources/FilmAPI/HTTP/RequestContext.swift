/// What filmd knows of one request besides its bytes: what routing found, fixed once the
/// request is routed, and the facts the middleware learn on the way in (who the client is,
/// who is calling, what the limiter decided), which the ones that report (logs, metrics,
/// headers) read. A value: each layer changes it in place (`inout`), a layer that waits hands
/// it back through its completion.
struct RequestContext: Sendable {
    let routing: Routing
    var facts: RequestFacts

    init(routing: Routing, facts: RequestFacts) {
        self.routing = routing
        self.facts = facts
    }
}

/// The route a request matched and what it answers with.
struct Routing: Sendable {
    /// The route template (`/films/{id}`), nil for an unknown path.
    let template: String?
    /// What answers: the route's endpoint, or one that answers 404, 405 or a plain OPTIONS.
    let endpoint: Endpoint
    let parameters: [String: String]

    init(template: String?, endpoint: Endpoint, parameters: [String: String] = [:]) {
        self.template = template
        self.endpoint = endpoint
        self.parameters = parameters
    }
}

/// The per-request facts, filled by the layer that knows each one.
struct RequestFacts: Sendable {
    let requestID: String
    /// When the head of the request had arrived (monotonic).
    let startedAt: ContinuousClock.Instant
    /// The client address after trusted-proxy resolution (equals the peer without proxies).
    var clientAddress: String
    /// The same client as an address (nil when the peer is not an IP address).
    var clientIP: IPAddress?
    /// Set by authentication when a valid key was sent.
    var keyID: String?
    var role: Role?
    /// Why the key the request sent was refused (it is answered 401 once rate limiting has run).
    var authFailure: AuthFailure?
    /// The limiter's verdict: `allowed`, `rejected`, `dry_run_rejected`, `exempt`, `disabled`.
    var rateLimitDecision: String = "exempt"
    /// The limits that applied to a request the limiter let through, for its response headers.
    var rateLimit: RateLimitResult?
    /// The security event this request amounts to (`auth_failure`, `forbidden`, ...), if any.
    var securityEvent: String?

    init(requestID: String, clientAddress: String, startedAt: ContinuousClock.Instant = .now) {
        self.requestID = requestID
        self.clientAddress = clientAddress
        self.startedAt = startedAt
    }
}

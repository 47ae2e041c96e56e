import Logging

/// The security layers of the chain (inside CORS, before the handler) and the state
/// they share: who the client is, who is calling, whether the client is over its limits, and
/// whether the caller's role allows the request. The limiter, the key directory and the
/// failure counts are exposed for metrics.
public struct SecurityChain: Sendable {
    public let limiter: RateLimiter
    public let keys: KeyDirectory
    public let usage: KeyUsage
    public let authFailures = AuthFailureCounts()
    /// Who the client is behind `server.trusted_proxies` (also asked whether to keep an inbound X-Request-ID).
    public let clientAddresses: ClientAddressResolver
    public let middleware: [any Middleware]

    public init(config: Config, router: Router, keys: KeyDirectory, usage: KeyUsage, clock: SecurityClock, logger: Logger) {
        limiter = RateLimiter(settings: config.rateLimits, routes: Self.limitedRoutes(of: router))
        self.keys = keys
        self.usage = usage
        clientAddresses = ClientAddressResolver(trustedProxies: config.server.trustedProxies)
        let anonymous = Role(rawValue: config.auth.anonymousRole)  // `none`: nil, no access
        middleware = [
            ClientAddressMiddleware(resolver: clientAddresses),
            AuthenticationMiddleware(authenticator: Authenticator(directory: keys), anonymousRole: anonymous,
                                     limiter: limiter, usage: usage, failures: authFailures, clock: clock),
            RateLimitMiddleware(limiter: limiter, clock: clock, logger: logger),
            AuthorizationMiddleware(failures: authFailures),
        ]
        if config.rateLimits.enabled {
            logger.info("rate limiter ready", metadata: [
                "ratelimit.max_clients": .stringConvertible(config.rateLimits.maxClients),
                "ratelimit.counters_per_client": .stringConvertible(limiter.countersPerClient),
                "ratelimit.bytes_per_client": .stringConvertible(limiter.bytesPerClient),
                "ratelimit.dry_run": .stringConvertible(config.rateLimits.dryRun)])
        }
        for route in limiter.unknownRoutes {
            logger.warning("rate_limits.routes names no route of filmd; its limits apply to nothing",
                           metadata: ["config.key": .string("rate_limits.routes"), "http.route": .string(route)])
        }
    }

    /// The routes the limiter counts (health, readiness and metrics are exempt and get no counters).
    static func limitedRoutes(of router: Router) -> [(method: HTTPMethod, template: String)] {
        router.table.filter { method, template in
            // A template matched as a path binds its own `{name}` segments: the route itself.
            guard case .found(_, let endpoint, _) = router.match(method, path: template) else { return false }
            return endpoint.rateLimited
        }
    }
}

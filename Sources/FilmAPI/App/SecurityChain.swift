import Logging

/// The security layers of the chain (after ErrorMiddleware, before the handler) and the state
/// they share: who the client is, who is calling, whether the client is over its limits, and
/// whether the caller's role allows the request. The limiter, the key directory and the
/// failure counts are exposed for metrics.
public struct SecurityChain: Sendable {
    public let limiter: RateLimiter
    public let keys: KeyDirectory
    public let usage: KeyUsage
    public let authFailures = AuthFailureCounts()
    public let middleware: [any Middleware]

    public init(config: Config, routes: [(method: HTTPMethod, template: String)], keys: KeyDirectory,
                usage: KeyUsage, clock: SecurityClock, logger: Logger) {
        limiter = RateLimiter(settings: config.rateLimits, routes: routes)
        self.keys = keys
        self.usage = usage
        let anonymous = Role(rawValue: config.auth.anonymousRole)  // `none`: nil, no access
        middleware = [
            ClientAddressMiddleware(resolver: ClientAddressResolver(trustedProxies: config.server.trustedProxies)),
            AuthenticationMiddleware(authenticator: Authenticator(directory: keys), anonymousRole: anonymous,
                                     limiter: limiter, usage: usage, failures: authFailures, clock: clock),
            RateLimitMiddleware(limiter: limiter, clock: clock, logger: logger),
            AuthorizationMiddleware(failures: authFailures),
        ]
        for route in limiter.unknownRoutes {
            logger.warning("rate_limits.routes names no route of filmd; its limits apply to nothing",
                           metadata: ["config.key": .string("rate_limits.routes"), "http.route": .string(route)])
        }
    }
}

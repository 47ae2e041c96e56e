import Logging

/// What the security layers share, built once per configuration and shared by every event
/// loop (one limiter, so a client's allowance does not multiply with the loops): who the client
/// is behind trusted proxies, the keys and their use, the failure counts, the limiter. The
/// layers themselves are listed, in order, by `Composition.application`.
struct SecurityState: Sendable {
    let limiter: RateLimiter
    let keys: KeyDirectory
    let usage: KeyUsage
    let authFailures = AuthFailureCounts()
    /// Who the client is behind `server.trusted_proxies` (also asked whether to keep an inbound X-Request-ID).
    let clientAddresses: ClientAddressResolver
    /// What a request without a key may do (`none`: nil, no access).
    let anonymousRole: Role?
    let clock: SecurityClock

    init(config: Config, keys: KeyDirectory, usage: KeyUsage, clock: SecurityClock, logger: Logger) {
        limiter = RateLimiter(settings: config.rateLimits, routes: Routes.limited)
        self.keys = keys
        self.usage = usage
        self.clock = clock
        clientAddresses = ClientAddressResolver(trustedProxies: config.server.trustedProxies)
        anonymousRole = Role(rawValue: config.auth.anonymousRole)
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
}

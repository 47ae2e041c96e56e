import Logging

/// Applies the rate limits (SPEC §2) after authentication, so that `key_by: api_key` can key
/// an authenticated request by its key id. Over the limit: 429 with `Retry-After`. Every
/// response of a limited route, errors included, carries `RateLimit-Policy` and `RateLimit`.
struct RateLimitMiddleware: Middleware {
    let limiter: RateLimiter
    let clock: SecurityClock
    let logger: Logger
    private let keyByAPIKey: Bool
    private let ipv6Prefix: Int

    init(limiter: RateLimiter, clock: SecurityClock, logger: Logger) {
        self.limiter = limiter
        self.clock = clock
        self.logger = logger
        keyByAPIKey = limiter.settings.keyBy == "api_key"
        ipv6Prefix = limiter.settings.ipv6PrefixLength
    }

    func enter(_ request: Request, context: inout RequestContext) throws -> Entry {
        guard context.routing.endpoint.rateLimited else {
            context.facts.rateLimitDecision = limiter.exempt().decision.rawValue
            return .proceed
        }
        let now = clock.monotonicNanoseconds()
        let result = limiter.check(clientKey(context), method: request.method, route: context.routing.template, now: now)
        context.facts.rateLimitDecision = result.decision.rawValue
        if result.overflowed, limiter.takeOverflowNotice(now: now) {
            logger.warning("rate limiter full: every tracked client is over a limit, new clients share the overflow rows", metadata: [
                "ratelimit.tracked_clients": .stringConvertible(limiter.trackedClients),
                "ratelimit.max_clients": .stringConvertible(limiter.settings.maxClients)])
        }
        if result.decision == .rejected {
            context.facts.securityEvent = "rate_limited"
            throw Problem.rateLimited(result)
        }
        context.facts.rateLimit = result
        return .proceed
    }

    /// Every answer of a limited route carries the limits, errors from the layers inside included.
    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        context.facts.rateLimit?.decorate(&response.headers)
    }

    private func clientKey(_ context: RequestContext) -> ClientKey {
        if keyByAPIKey, let keyID = context.facts.keyID { return ClientKey(keyID: keyID) }
        return context.facts.clientIP.map { ClientKey(address: $0, ipv6Prefix: ipv6Prefix) } ?? .unknown
    }
}

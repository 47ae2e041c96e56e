import Logging

/// Applies the rate limits (SPEC §2) after authentication, so that `key_by: api_key` can key
/// an authenticated request by its key id, and so that the whole decision — the auth-failure
/// budget of a request that sent a key, a refused key counted, the request's own limits — is
/// one question: asked of this process's limiter, or of Redis in one round trip on the
/// request's loop (`shared`, SPEC §9). Over the limit: 429 with `Retry-After`. Every response
/// of a limited route, errors included, carries `RateLimit-Policy` and `RateLimit`.
struct RateLimitMiddleware: Middleware {
    let limiter: RateLimiter
    let shared: SharedRateLimits?
    let failures: AuthFailureCounts
    let clock: SecurityClock
    let logger: Logger
    private let keyByAPIKey: Bool
    private let ipv6Prefix: Int

    init(limiter: RateLimiter, shared: SharedRateLimits?, failures: AuthFailureCounts, clock: SecurityClock, logger: Logger) {
        self.limiter = limiter
        self.shared = shared
        self.failures = failures
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
        let query = query(request, context)
        guard let shared else {
            try apply(limiter.decide(query, now: now), to: &context, now: now)
            return .proceed
        }
        switch shared.decide(query, now: now) {
        case .now(let decision):
            try apply(decision, to: &context, now: now)
            return .proceed
        case .later(let start):
            let asked = context
            return .later { [self] done in
                start(Completion(on: done.queue) { result in
                    var context = asked
                    do {
                        try apply(result.get(), to: &context, now: now)
                        done(.success(Resumption(context: context)))
                    } catch {
                        done(.success(Resumption(context: context, error: error)))
                    }
                })
            }
        }
    }

    /// Every answer of a limited route carries the limits, errors from the layers inside included.
    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        context.facts.rateLimit?.decorate(&response.headers)
    }

    /// Records the decision in the request's facts; throws the 429 of a refusal.
    private func apply(_ decision: RateLimitDecision, to context: inout RequestContext, now: Int64) throws {
        let result = decision.result
        context.facts.rateLimitDecision = result.decision.rawValue
        if decision.refusedAuthentication {
            // The key was not looked at, as far as anyone can tell: no auth failure is counted.
            context.facts.securityEvent = "rate_limited"
            throw Problem.rateLimited(result)
        }
        if let reason = context.facts.authFailure { failures.record(reason) }
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
    }

    private func query(_ request: Request, _ context: RequestContext) -> RateLimitQuery {
        let address = context.facts.clientIP.map { ClientKey(address: $0, ipv6Prefix: ipv6Prefix) } ?? .unknown
        let keyID = keyByAPIKey ? context.facts.keyID : nil
        return RateLimitQuery(client: keyID.map { ClientKey(keyID: $0) } ?? address, address: address,
                              keySent: context.facts.keyID != nil || context.facts.authFailure != nil,
                              keyRefused: context.facts.authFailure != nil, method: request.method, route: context.routing.template)
    }
}

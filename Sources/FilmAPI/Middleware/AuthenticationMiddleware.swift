/// Finds out who is calling (SPEC §4): the key's id and role, or the anonymous role when no
/// key was sent. A bad key is remembered in `context.facts.authFailure` and answered 401 by
/// `AuthorizationMiddleware` after rate limiting, so the 401 carries the rate-limit headers;
/// it also counts against the client's stricter `rate_limits.auth_failures` budget, and once
/// that budget is spent every request that sends a key is answered 429 without the key being
/// looked at, a correct one included. Routes without a role (health) ignore keys altogether.
/// Keys are never logged: only their id, and only once verified.
struct AuthenticationMiddleware: Middleware {
    let authenticator: Authenticator
    let anonymousRole: Role?
    let limiter: RateLimiter
    let usage: KeyUsage
    let failures: AuthFailureCounts
    let clock: SecurityClock
    let ipv6Prefix: Int

    init(authenticator: Authenticator, anonymousRole: Role?, limiter: RateLimiter, usage: KeyUsage,
         failures: AuthFailureCounts, clock: SecurityClock) {
        self.authenticator = authenticator
        self.anonymousRole = anonymousRole
        self.limiter = limiter
        self.usage = usage
        self.failures = failures
        self.clock = clock
        ipv6Prefix = limiter.settings.ipv6PrefixLength
    }

    func enter(_ request: Request, context: inout RequestContext) throws -> Entry {
        guard context.routing.endpoint.role != nil else { return .proceed }
        let credentials = Credentials(headers: request.headers)
        guard credentials != .none else {
            context.facts.role = anonymousRole
            return .proceed
        }
        let client = context.facts.clientIP.map { ClientKey(address: $0, ipv6Prefix: ipv6Prefix) } ?? .unknown
        let attempt = limiter.authAttempt(client, now: clock.monotonicNanoseconds())
        if attempt.decision == .rejected {
            context.facts.rateLimitDecision = attempt.decision.rawValue
            context.facts.securityEvent = "rate_limited"
            throw Problem.rateLimited(attempt)
        }
        switch authenticator.verify(credentials, now: clock.unixSeconds()) {
        case .key(let key):
            context.facts.keyID = key.id
            context.facts.role = key.role
            usage.touch(key.id, now: clock.unixSeconds())
        case .failed(let reason):
            context.facts.authFailure = reason
            context.facts.securityEvent = "auth_failure"
            failures.record(reason)
            limiter.recordAuthFailure(client, now: clock.monotonicNanoseconds())
        case .anonymous:
            context.facts.role = anonymousRole
        }
        return .proceed
    }
}

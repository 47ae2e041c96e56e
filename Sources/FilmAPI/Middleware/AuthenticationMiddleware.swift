/// Finds out who is calling (SPEC §4): the key's id and role, or the anonymous role when no
/// key was sent. A bad key is remembered in `context.facts.authFailure` and answered 401 by
/// `AuthorizationMiddleware` after rate limiting, so the 401 carries the rate-limit headers.
/// The rate-limit layer then does the rest in its one decision: the failure counts against
/// the client's stricter `rate_limits.auth_failures` budget (and in `filmd_auth_failures_total`),
/// and once that budget is spent every request that sends a key is answered 429, a correct
/// one included, as if the key had not been looked at. Routes without a role (health) ignore
/// keys altogether. Keys are never logged: only their id, and only once verified.
struct AuthenticationMiddleware: Middleware {
    let authenticator: Authenticator
    let anonymousRole: Role?
    let usage: KeyUsage
    let clock: SecurityClock

    init(authenticator: Authenticator, anonymousRole: Role?, usage: KeyUsage, clock: SecurityClock) {
        self.authenticator = authenticator
        self.anonymousRole = anonymousRole
        self.usage = usage
        self.clock = clock
    }

    func enter(_ request: Request, context: inout RequestContext) throws -> Entry {
        guard context.routing.endpoint.role != nil else { return .proceed }
        let credentials = Credentials(headers: request.headers)
        guard credentials != .none else {
            context.facts.role = anonymousRole
            return .proceed
        }
        switch authenticator.verify(credentials, now: clock.unixSeconds()) {
        case .key(let key):
            context.facts.keyID = key.id
            context.facts.role = key.role
            usage.touch(key.id, now: clock.unixSeconds())
        case .failed(let reason):
            context.facts.authFailure = reason
            context.facts.securityEvent = "auth_failure"
        case .anonymous:
            context.facts.role = anonymousRole
        }
        return .proceed
    }
}

/// The role check, last before the handler (SPEC §4): a bad key is 401 with
/// `error="invalid_token"`; no key where the anonymous role is not enough is 401; a valid key
/// without the role the request needs is 403.
struct AuthorizationMiddleware: Middleware {
    let failures: AuthFailureCounts

    init(failures: AuthFailureCounts) {
        self.failures = failures
    }

    func enter(_ request: Request, context: inout RequestContext) throws -> Entry {
        guard let required = context.routing.endpoint.requiredRole(for: request) else { return .proceed }
        if context.facts.authFailure != nil { throw Problem.unauthorized(keySent: true) }
        if let role = context.facts.role, role >= required { return .proceed }
        if context.facts.keyID == nil {
            context.facts.securityEvent = "auth_failure"
            failures.record(.missing)
            throw Problem.unauthorized(keySent: false)
        }
        context.facts.securityEvent = "forbidden"
        throw Problem.forbidden(needs: required)
    }
}

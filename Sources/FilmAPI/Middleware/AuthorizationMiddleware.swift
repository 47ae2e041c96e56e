/// The role check, last before the handler (SPEC §4): a bad key is 401 with
/// `error="invalid_token"`; no key where the anonymous role is not enough is 401; a valid key
/// without the role the request needs is 403.
public struct AuthorizationMiddleware: Middleware {
    let failures: AuthFailureCounts

    public init(failures: AuthFailureCounts) {
        self.failures = failures
    }

    public func enter(_ request: Request, context: RequestContext) throws -> Response? {
        guard let required = context.endpoint?.requiredRole(for: request) else { return nil }
        if context.authFailure != nil { throw Problem.unauthorized(keySent: true) }
        if let role = context.role, role >= required { return nil }
        if context.keyID == nil {
            context.securityEvent = "auth_failure"
            failures.record(.missing)
            throw Problem.unauthorized(keySent: false)
        }
        context.securityEvent = "forbidden"
        throw Problem.forbidden(needs: required)
    }
}

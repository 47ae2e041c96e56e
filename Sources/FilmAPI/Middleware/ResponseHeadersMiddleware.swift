/// The headers every response carries (SPEC §3): `X-Request-ID` and the security headers.
/// The console page brings its own Content-Security-Policy, which is kept.
struct ResponseHeadersMiddleware: Middleware {
    let crossOriginResourcePolicy: String
    /// The security headers of a response that brings none of its own, over plain HTTP: the
    /// usual case, checked and formatted once.
    let usual: HeaderBlock

    init(crossOriginResourcePolicy: String) {
        self.crossOriginResourcePolicy = crossOriginResourcePolicy
        usual = HeaderBlock([("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", Self.contentSecurityPolicy),
                             ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
                             ("Cross-Origin-Resource-Policy", crossOriginResourcePolicy)])
    }

    static let contentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        decorate(&response, requestID: context.facts.requestID, secure: request.isSecure)
    }

    func decorate(_ response: inout Response, requestID: String, secure: Bool) {
        response.headers.add("X-Request-ID", requestID)
        let ownPolicy = response.headers.contains("Content-Security-Policy")
        let ownCaching = response.headers.contains("Cache-Control")
        if !secure, !ownPolicy, !ownCaching {
            response.headers.add(usual)
            return
        }
        response.headers.add("X-Content-Type-Options", "nosniff")
        if !ownPolicy { response.headers.add("Content-Security-Policy", Self.contentSecurityPolicy) }
        response.headers.add("X-Frame-Options", "DENY")
        response.headers.add("Referrer-Policy", "no-referrer")
        if !ownCaching { response.headers.add("Cache-Control", "no-store") }
        response.headers.add("Cross-Origin-Resource-Policy", crossOriginResourcePolicy)
        if secure { response.headers.add("Strict-Transport-Security", "max-age=31536000") }
    }
}

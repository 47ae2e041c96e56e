/// CORS (SPEC §3): preflights answered here, against the route's real methods; actual
/// responses to allowed origins get `Access-Control-Allow-Origin` and the exposed headers,
/// errors and 429s included. A refused origin gets no CORS header at all.
struct CORSMiddleware: Middleware {
    let policy: CORSPolicy
    /// The methods a path answers (nil: no such path), from the router.
    let methods: @Sendable (String) -> [HTTPMethod]?

    init(policy: CORSPolicy, methods: @escaping @Sendable (String) -> [HTTPMethod]?) {
        self.policy = policy
        self.methods = methods
    }

    func enter(_ request: Request, context: inout RequestContext) -> Entry {
        guard request.method == .OPTIONS, let origin = request.headers["Origin"],
              let wanted = request.headers["Access-Control-Request-Method"] else { return .proceed }
        return .respond(preflight(request, origin: origin, wanted: wanted, context: &context))
    }

    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        guard let origin = request.headers["Origin"] else { return }
        if policy.variesByOrigin { response.headers.add("Vary", "Origin") }
        if let allowed = policy.allowOrigin(for: origin) {
            response.headers.add("Access-Control-Allow-Origin", allowed)
            if policy.allowCredentials { response.headers.add("Access-Control-Allow-Credentials", "true") }
            response.headers.add("Access-Control-Expose-Headers", CORSPolicy.exposedHeaders)
        }
    }

    private func preflight(_ request: Request, origin: String, wanted: String, context: inout RequestContext) -> Response {
        context.facts.rateLimitDecision = "exempt"
        guard let allowed = policy.allowOrigin(for: origin), let methods = methods(request.path),
              let method = HTTPMethod(rawValue: wanted), methods.contains(method),
              policy.allowsHeaders(request.headers["Access-Control-Request-Headers"]) else {
            context.facts.securityEvent = "cors_preflight_refused"
            var refusal = Problem(.forbidden, type: "cors-refused",
                                  detail: "This origin, method or header is not allowed to call this path.").response(requestID: context.facts.requestID)
            if policy.variesByOrigin { refusal.headers.add("Vary", "Origin") }
            return refusal
        }
        var headers = HTTPHeaders()
        headers.add("Access-Control-Allow-Origin", allowed)
        if policy.allowCredentials { headers.add("Access-Control-Allow-Credentials", "true") }
        headers.add("Access-Control-Allow-Methods", methods.map(\.rawValue).joined(separator: ", "))
        headers.add("Access-Control-Allow-Headers", policy.allowedHeaderList)
        headers.add("Access-Control-Max-Age", String(policy.maxAge))
        headers.add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
        return Response(status: .noContent, headers: headers)
    }
}

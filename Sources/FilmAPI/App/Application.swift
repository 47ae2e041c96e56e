import Logging

/// The composition of filmd: the router and the middleware chain, built once at start, and
/// the answers to requests the transport refused. Everything here is plain Swift, so tests
/// drive it in-process without a socket.
final class Application: HTTPHandler {
    let router: Router
    private let chain: MiddlewareChain
    private let ids = RequestIDs()
    private let requestLog: RequestLog
    private let responseHeaders: ResponseHeadersMiddleware
    private let proxies: ClientAddressResolver
    private let metrics: MetricsRegistry
    /// The rate limiter, keys and auth failure counts (for metrics); nil without the security layers.
    let security: SecurityState?

    init(router: Router, middleware: [any Middleware], requestLog: RequestLog,
         responseHeaders: ResponseHeadersMiddleware, proxies: ClientAddressResolver = ClientAddressResolver(trustedProxies: []),
         metrics: MetricsRegistry, logger: Logger, security: SecurityState? = nil) {
        self.router = router
        self.proxies = proxies
        self.security = security
        self.requestLog = requestLog
        self.responseHeaders = responseHeaders
        self.metrics = metrics
        chain = MiddlewareChain(middleware) { error, context in
            ErrorResponse.response(for: error, context: context, logger: logger)
        }
    }

    func start(_ request: Request) -> Answer<Response> {
        chain.start(request, context: context(for: request))
    }

    /// Awaits the answer where no event loop serves the request (tests).
    func respond(to request: Request) async -> Response {
        await chain.respond(to: request, context: context(for: request))
    }

    private func context(for request: Request) -> RequestContext {
        RequestContext(routing: route(request), facts: RequestFacts(requestID: requestID(for: request), clientAddress: request.peer.host))
    }

    func refuse(_ status: HTTPStatus, method: HTTPMethod, target: String, peer: PeerAddress) -> Response {
        var facts = RequestFacts(requestID: ids.next(), clientAddress: peer.host)
        facts.securityEvent = status == .requestTimeout ? "request_timeout" : "malformed_request"
        let context = RequestContext(routing: Routing(template: nil, endpoint: Self.notFound), facts: facts)
        var response = Self.refusal(status).response(requestID: facts.requestID)
        responseHeaders.decorate(&response, requestID: facts.requestID, secure: false)
        let request = Request(method: method, target: target, peer: peer)
        requestLog.record(request: request, context: context, response: response)
        metrics.requestRefused(status: response.status.code)
        return response
    }

    /// An inbound `X-Request-ID` is kept only from a trusted proxy and only when well-formed.
    private func requestID(for request: Request) -> String {
        if proxies.hasTrustedProxies, let inbound = request.headers["X-Request-ID"], RequestIDs.isWellFormed(inbound),
           let peer = IPAddress(request.peer.host), proxies.isTrusted(peer) {
            return inbound
        }
        return ids.next()
    }

    private func route(_ request: Request) -> Routing {
        switch router.match(request.method, path: request.path) {
        case .found(let template, let endpoint, let parameters):
            Routing(template: template, endpoint: endpoint, parameters: parameters)
        case .methodNotAllowed(let template, let allow):
            Routing(template: template, endpoint: request.method == .OPTIONS ? Self.options(allow) : Self.failing(.methodNotAllowed(allow: allow)))
        case .notFound:
            Routing(template: nil, endpoint: Self.notFound)
        }
    }

    /// A plain `OPTIONS` (not a CORS preflight): the methods of the path.
    private static func options(_ allow: [HTTPMethod]) -> Endpoint {
        let response = Response(status: .noContent, headers: HTTPHeaders([("Allow", allow.map(\.rawValue).joined(separator: ", "))]))
        return Endpoint(role: nil, rateLimited: false) { _, _ in .now(response) }
    }

    private static func failing(_ problem: Problem) -> Endpoint {
        Endpoint(role: nil) { _, _ in throw problem }
    }

    /// Unknown paths; also what a refused request is routed to for its log line (it never runs).
    private static let notFound = failing(.notFound())

    private static func refusal(_ status: HTTPStatus) -> Problem {
        switch status.code {
        case 408: Problem(status, type: "request-timeout", detail: "The request did not arrive within the time this server allows.")
        case 413: Problem(status, type: "content-too-large", detail: "The request body is larger than this server accepts.")
        case 414: Problem(status, type: "uri-too-long", detail: "The request target is longer than this server accepts.")
        case 431: Problem(status, type: "header-fields-too-large", detail: "The request header fields are larger than this server accepts.")
        case 501: Problem(status, type: "transfer-coding-not-implemented",
                          detail: "The request's transfer coding is not one this server implements (only chunked is).")
        default: Problem(.badRequest, type: "malformed-request", detail: "The request is not well-formed HTTP/1.1.")
        }
    }
}

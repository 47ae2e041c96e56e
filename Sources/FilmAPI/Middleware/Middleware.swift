/// One layer of the request chain (Hummingbird's shape): it sees the request on its way in and
/// the response on its way out, and may answer by itself without calling `next`.
public protocol Middleware: Sendable {
    func handle(_ request: Request, context: RequestContext, next: Responder) async throws -> Response
}

extension Array where Element == any Middleware {
    /// Composes the chain once, at start: the first middleware is the outermost.
    public func folded(around endpoint: @escaping Responder) -> Responder {
        reversed().reduce(endpoint) { next, middleware in
            { request, context in try await middleware.handle(request, context: context, next: next) }
        }
    }
}

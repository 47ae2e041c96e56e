/// One layer of the request chain: it sees the request on its way in and the response on its
/// way out, and may answer by itself on the way in. Layers are synchronous; only the endpoint
/// may suspend (a write waiting for its commit). An async layer around an async `next` cost,
/// per layer and request, a task-allocator frame, a reabstraction thunk and copies of the
/// request: a tenth of the instructions of GET / before the change.
public protocol Middleware: Sendable {
    /// On the way in: a response to answer at once (the layers inside are skipped, the ones
    /// outside see it on the way out), or nil to go on. A thrown error is answered as
    /// `ErrorResponse` says, and likewise seen by the layers outside.
    func enter(_ request: Request, context: RequestContext) throws -> Response?
    /// On the way out, for each layer whose `enter` let the request go on.
    func leave(_ request: Request, context: RequestContext, response: inout Response)
}

extension Middleware {
    public func enter(_ request: Request, context: RequestContext) throws -> Response? { nil }
    public func leave(_ request: Request, context: RequestContext, response: inout Response) {}
}

/// The layers around an endpoint, outermost first, run for one request.
public struct MiddlewareChain: Sendable {
    let layers: [any Middleware]
    let endpoint: Responder
    let errors: @Sendable (any Error, RequestContext) -> Response

    public init(_ layers: [any Middleware], around endpoint: @escaping Responder,
                errors: @escaping @Sendable (any Error, RequestContext) -> Response) {
        self.layers = layers
        self.endpoint = endpoint
        self.errors = errors
    }

    public func respond(to request: Request, context: RequestContext) async -> Response {
        var entered = 0
        var response: Response
        do {
            response = try await inward(request, context: context, entered: &entered)
        } catch {
            response = errors(error, context)
        }
        while entered > 0 {
            entered -= 1
            layers[entered].leave(request, context: context, response: &response)
        }
        return response
    }

    /// Runs the layers' `enter` in order, then the endpoint; `entered` counts the layers let through.
    private func inward(_ request: Request, context: RequestContext, entered: inout Int) async throws -> Response {
        for layer in layers {
            if let answer = try layer.enter(request, context: context) { return answer }
            entered += 1
        }
        return try await endpoint(request, context)
    }
}

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
    /// The endpoint's answer when it can give one without suspending (nil: use `endpoint`).
    let immediateEndpoint: ImmediateResponder
    let errors: @Sendable (any Error, RequestContext) -> Response

    public init(_ layers: [any Middleware], around endpoint: @escaping Responder,
                immediately immediateEndpoint: @escaping ImmediateResponder = { _, _ in nil },
                errors: @escaping @Sendable (any Error, RequestContext) -> Response) {
        self.layers = layers
        self.endpoint = endpoint
        self.immediateEndpoint = immediateEndpoint
        self.errors = errors
    }

    /// How far `start` got: the response, or the rest of the chain, which suspends.
    public enum Start: Sendable {
        case answered(Response)
        case suspending(Rest)
    }

    /// The endpoint and the layers' `leave`, for a request whose endpoint suspends.
    public struct Rest: Sendable {
        let chain: MiddlewareChain
        let request: Request
        let context: RequestContext
        let entered: Int

        public func finish() async -> Response {
            var response: Response
            do {
                response = try await chain.endpoint(request, context)
            } catch {
                response = chain.errors(error, context)
            }
            return chain.outward(request, context: context, entered: entered, response: consume response)
        }
    }

    public func respond(to request: Request, context: RequestContext) async -> Response {
        switch start(request, context: context) {
        case .answered(let response): response
        case .suspending(let rest): await rest.finish()
        }
    }

    /// Runs the layers' `enter` and, when it answers without suspending, the endpoint and the
    /// layers' `leave`: most reads need no task at all (a task per request cost about a tenth
    /// of a GET /: its allocation, slabs for its frames, the queue, the switches).
    public func start(_ request: Request, context: RequestContext) -> Start {
        var entered = 0
        var response: Response
        do {
            if let answer = try inward(request, context: context, entered: &entered) {
                response = answer
            } else if let answer = try immediateEndpoint(request, context) {
                response = answer
            } else {
                return .suspending(Rest(chain: self, request: request, context: context, entered: entered))
            }
        } catch {
            response = errors(error, context)
        }
        return .answered(outward(request, context: context, entered: entered, response: consume response))
    }

    /// Runs the layers' `enter` in order; `entered` counts the layers let through. A layer's
    /// answer, or nil when every layer let the request through.
    private func inward(_ request: Request, context: RequestContext, entered: inout Int) throws -> Response? {
        for layer in layers {
            if let answer = try layer.enter(request, context: context) { return answer }
            entered += 1
        }
        return nil
    }

    /// The `leave` of each layer that was entered, innermost first.
    private func outward(_ request: Request, context: RequestContext, entered: Int, response: consuming Response) -> Response {
        var response = response  // moved, not copied: a copy made the first header added copy the list
        var layer = entered
        while layer > 0 {
            layer -= 1
            layers[layer].leave(request, context: context, response: &response)
        }
        return response
    }
}

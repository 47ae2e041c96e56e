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
    /// The endpoint's callback form for this request, when it has one (nil: use `endpoint`).
    let deferredEndpoint: @Sendable (Request, RequestContext) -> DeferredResponder?
    let errors: @Sendable (any Error, RequestContext) -> Response

    public init(_ layers: [any Middleware], around endpoint: @escaping Responder,
                immediately immediateEndpoint: @escaping ImmediateResponder = { _, _ in nil },
                deferring deferredEndpoint: @escaping @Sendable (Request, RequestContext) -> DeferredResponder? = { _, _ in nil },
                errors: @escaping @Sendable (any Error, RequestContext) -> Response) {
        self.layers = layers
        self.endpoint = endpoint
        self.immediateEndpoint = immediateEndpoint
        self.deferredEndpoint = deferredEndpoint
        self.errors = errors
    }

    /// How far `start` got: the response, or the rest of the chain, which suspends or calls back.
    public enum Start: Sendable {
        case answered(Response)
        case suspending(Rest)
        case deferred(Deferred)
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

    /// The endpoint's callback form and the layers' `leave`, for a request that waits for a
    /// write without a task.
    public struct Deferred: Sendable {
        let rest: Rest
        let endpoint: DeferredResponder

        /// Runs the endpoint; `done` gets the response on `queue` (at once if the endpoint threw).
        public func finish(on queue: any CompletionQueue, _ done: @escaping @Sendable (Response) -> Void) {
            let rest = rest
            let completion = Completion<Response>(on: queue) { result in
                var response: Response
                switch result {
                case .success(let answer): response = answer
                case .failure(let error): response = rest.chain.errors(error, rest.context)
                }
                done(rest.chain.outward(rest.request, context: rest.context, entered: rest.entered, response: consume response))
            }
            do {
                try endpoint(rest.request, rest.context, completion)
            } catch {
                completion(.failure(error))
            }
        }

        /// The same, awaited (where no event loop serves the request).
        public func finish() async -> Response {
            await withCheckedContinuation { continuation in
                finish(on: InlineQueue.shared) { continuation.resume(returning: $0) }
            }
        }
    }

    public func respond(to request: Request, context: RequestContext) async -> Response {
        switch start(request, context: context) {
        case .answered(let response): response
        case .suspending(let rest): await rest.finish()
        case .deferred(let deferred): await deferred.finish()
        }
    }

    /// Runs the layers' `enter` and, when it answers without suspending, the endpoint and the
    /// layers' `leave`: most reads need no task at all (a task per request cost about a tenth
    /// of a GET /: its allocation, slabs for its frames, the queue, the switches). Writes with a
    /// callback form need none either: they come back as `deferred`.
    public func start(_ request: Request, context: RequestContext) -> Start {
        var entered = 0
        var response: Response
        do {
            if let answer = try inward(request, context: context, entered: &entered) {
                response = answer
            } else if let answer = try immediateEndpoint(request, context) {
                response = answer
            } else if let deferred = deferredEndpoint(request, context) {
                return .deferred(Deferred(rest: Rest(chain: self, request: request, context: context, entered: entered),
                                          endpoint: deferred))
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

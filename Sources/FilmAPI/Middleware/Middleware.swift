/// One layer of the request chain: it sees the request on its way in and the response on its
/// way out, and may answer by itself on the way in, at once or after waiting for something
/// (a network round trip, on the request's loop). The layers that answer at once cost no
/// allocation: an async layer around an async `next` cost, per layer and request, a task
/// frame, a reabstraction thunk and copies of the request (a tenth of a GET / when measured).
protocol Middleware: Sendable {
    /// On the way in, with `context` changed in place. A thrown or delivered error is answered
    /// as `ErrorResponse` says, and likewise seen by the layers outside.
    func enter(_ request: Request, context: inout RequestContext) throws -> Entry
    /// On the way out, for each layer whose `enter` let the request go on.
    func leave(_ request: Request, context: RequestContext, response: inout Response)
}

extension Middleware {
    func enter(_ request: Request, context: inout RequestContext) throws -> Entry { .proceed }
    func leave(_ request: Request, context: RequestContext, response: inout Response) {}
}

/// How a layer's `enter` ends: now (go on, or answer: the layers inside are skipped, the ones
/// outside see the response on the way out), or later, through a `Completion` on the request's
/// loop, like every other step that waits (see `Answer`). Small and not generic: it is returned
/// once per layer per request.
enum Entry: Sendable {
    case proceed
    case respond(Response)
    /// Waits (a network round trip); the completion says what then, with the context as the
    /// layer leaves it.
    case later(@Sendable (Completion<Resumption>) -> Void)
}

/// What a layer that waited decided: its context changes, and an answer, an error (made a
/// response by the chain, as one thrown from `enter` is, with the context as changed) or
/// neither to go on.
struct Resumption: Sendable {
    var context: RequestContext
    var response: Response?
    var error: (any Error)?

    init(context: RequestContext, response: Response? = nil, error: (any Error)? = nil) {
        self.context = context
        self.response = response
        self.error = error
    }
}

/// A handler: the innermost step of the chain, answering now or later like a layer.
typealias Handler = @Sendable (Request, RequestContext) throws -> Answer<Response>

/// The layers, outermost first, around the endpoint the request was routed to.
struct MiddlewareChain: Sendable {
    let layers: [any Middleware]
    let errors: @Sendable (any Error, RequestContext) -> Response

    init(_ layers: [any Middleware], errors: @escaping @Sendable (any Error, RequestContext) -> Response) {
        self.layers = layers
        self.errors = errors
    }

    /// Runs the request through every layer and its endpoint. Most requests are answered now
    /// (reads need no task and no completion); the rest when what they wait for completes.
    /// Never fails: errors are responses by then.
    func start(_ request: Request, context: RequestContext) -> Answer<Response> {
        var context = context
        return run(request, &context, from: 0)
    }

    /// Awaits the answer where no event loop serves the request (tests).
    func respond(to request: Request, context: RequestContext) async -> Response {
        do {
            return try await start(request, context: context).value()
        } catch {
            return errors(error, context)  // not reached: the chain delivers no error
        }
    }

    /// The layers from `first` on, then the endpoint, then the way out.
    private func run(_ request: Request, _ context: inout RequestContext, from first: Int) -> Answer<Response> {
        var index = first
        while index < layers.count {
            let entry: Entry
            do {
                entry = try layers[index].enter(request, context: &context)
            } catch {
                return .now(outward(request, context, entered: index, errors(error, context)))
            }
            switch entry {
            case .proceed: index += 1
            case .respond(let response): return .now(outward(request, context, entered: index, response))
            case .later(let start): return resume(request, context, at: index, after: start)
            }
        }
        let answer: Answer<Response>
        do {
            answer = try context.routing.endpoint.handler(request, context)
        } catch {
            return .now(outward(request, context, entered: layers.count, errors(error, context)))
        }
        switch answer {
        case .now(let response): return .now(outward(request, context, entered: layers.count, response))
        case .later(let start):
            let context = context
            return .later { done in
                start(Completion(on: done.queue) { result in
                    let response: Response
                    switch result {
                    case .success(let answer): response = answer
                    case .failure(let error): response = errors(error, context)
                    }
                    done(.success(outward(request, context, entered: layers.count, response)))
                })
            }
        }
    }

    /// The rest of the chain after the layer at `index` waited: it goes on where it says.
    private func resume(_ request: Request, _ context: RequestContext, at index: Int,
                        after start: @escaping @Sendable (Completion<Resumption>) -> Void) -> Answer<Response> {
        .later { done in
            start(Completion(on: done.queue) { result in
                switch result {
                case .failure(let error):
                    done(.success(outward(request, context, entered: index, errors(error, context))))
                case .success(let resumption):
                    var context = resumption.context
                    if let error = resumption.error {
                        done(.success(outward(request, context, entered: index, errors(error, context))))
                    } else if let response = resumption.response {
                        done(.success(outward(request, context, entered: index, response)))
                    } else {
                        run(request, &context, from: index + 1).deliver(to: done)
                    }
                }
            })
        }
    }

    /// The `leave` of each layer that was entered, innermost first.
    private func outward(_ request: Request, _ context: RequestContext, entered: Int, _ response: consuming Response) -> Response {
        var response = response  // moved, not copied: a copy made the first header added copy the list
        var layer = entered
        while layer > 0 {
            layer -= 1
            layers[layer].leave(request, context: context, response: &response)
        }
        return response
    }
}

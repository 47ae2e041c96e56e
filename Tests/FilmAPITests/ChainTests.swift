import Foundation
import Logging
import Testing
@testable import FilmAPI

/// The chain's one way of finishing: each layer's `enter` and the handler answer now or later,
/// and the layers' `leave` run on the way out either way.
@Suite struct ChainTests {
    struct Recorder: Middleware {
        let name: String
        let trace: Trace
        var answers = false
        func enter(_ request: Request, context: inout RequestContext) -> Entry {
            trace.add("enter \(name)")
            return answers ? .respond(Response(status: .noContent)) : .proceed
        }
        func leave(_ request: Request, context: RequestContext, response: inout Response) {
            trace.add("leave \(name) \(response.status.code)")
        }
    }

    /// Waits for a round trip done on another thread, then sets the client address, as a layer
    /// that asks a network service would; it delivers its entry on the completion's queue.
    struct RoundTrip: Middleware {
        let trace: Trace
        func enter(_ request: Request, context: inout RequestContext) -> Entry {
            trace.add("enter round trip")
            let context = context
            return .later { completion in
                Thread.detachNewThread {
                    var changed = context
                    changed.facts.clientAddress = "198.51.100.7"
                    let resumption = Resumption(context: changed)
                    completion.queue.execute { completion(.success(resumption)) }
                }
            }
        }
        func leave(_ request: Request, context: RequestContext, response: inout Response) {
            trace.add("leave round trip \(response.status.code)")
        }
    }

    static func context(_ handler: @escaping Handler = { _, _ in .now(Response(status: .ok)) }) -> RequestContext {
        RequestContext(routing: Routing(template: "/", endpoint: Endpoint(role: nil, handler: handler)),
                       facts: RequestFacts(requestID: "t", clientAddress: "::1"))
    }

    static func chain(_ layers: [any Middleware]) -> MiddlewareChain {
        MiddlewareChain(layers) { error, context in
            ErrorResponse.response(for: error, context: context, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
    }

    @Test func anAnswerReadyNowRunsTheWholeChainAtOnce() {
        let trace = Trace()
        let answer = Self.chain([Recorder(name: "a", trace: trace)]).start(Request(method: .GET, target: "/"),
                                                                         context: Self.context { _, _ in trace.add("handler"); return .now(Response(status: .ok)) })
        guard case .now(let response) = answer else { Issue.record("not answered at once"); return }
        #expect(response.status == .ok)
        #expect(trace.entries == ["enter a", "handler", "leave a 200"])
    }

    @Test func aLayerThatAnswersSkipsTheInnerLayersAndIsSeenByTheOuterOnes() async {
        let trace = Trace()
        let chain = Self.chain([Recorder(name: "outer", trace: trace), Recorder(name: "answering", trace: trace, answers: true),
                                Recorder(name: "inner", trace: trace)])
        let response = await chain.respond(to: Request(method: .GET, target: "/"), context: Self.context { _, _ in
            trace.add("handler"); return .now(Response(status: .ok))
        })
        #expect(response.status == .noContent)
        #expect(trace.entries == ["enter outer", "enter answering", "leave outer 204"])
    }

    @Test func aThrowingHandlerIsAnsweredAsAnErrorThroughTheLayers() {
        let trace = Trace()
        struct Boom: Error {}
        let answer = Self.chain([Recorder(name: "a", trace: trace)]).start(Request(method: .GET, target: "/"),
                                                                         context: Self.context { _, _ in throw Boom() })
        guard case .now(let response) = answer else { Issue.record("not answered at once"); return }
        #expect(response.status == .internalServerError)
        #expect(trace.entries == ["enter a", "leave a 500"])
    }

    @Test func aHandlerThatAnswersLaterIsAnsweredThroughItsCompletionAfterTheLayersLeave() {
        let trace = Trace()
        let later = Locked<Completion<Response>?>(nil)
        let answer = Self.chain([Recorder(name: "a", trace: trace)]).start(Request(method: .POST, target: "/"), context: Self.context { _, _ in
            .later { completion in trace.add("handler"); later.withLock { $0 = completion } }
        })
        guard case .later(let start) = answer else { Issue.record("answered before the write"); return }
        let answered = Locked<Response?>(nil)
        start(Completion(on: RecordingQueue()) { result in answered.withLock { $0 = try? result.get() } })
        #expect(trace.entries == ["enter a", "handler"], "nothing left before the write completes")
        #expect(answered.withLock { $0 } == nil)
        struct Unavailable: Error {}
        later.withLock { $0 }?(.failure(Unavailable()))
        #expect(answered.withLock { $0 }?.status == .internalServerError)
        #expect(trace.entries == ["enter a", "handler", "leave a 500"])
    }

    /// The issue's proof: a layer that finishes later, completed from another thread; the chain
    /// goes on with the context it handed back, and the response arrives on the request's loop.
    @Test func aLayerThatWaitsGoesOnWhereItsCompletionSaysAndAnswersOnTheLoop() async throws {
        let loop = try EventLoop()
        let thread = Thread { loop.run() }
        thread.start()
        defer { loop.stop() }
        let trace = Trace()
        let seen = Locked<String?>(nil)
        let chain = Self.chain([Recorder(name: "outer", trace: trace), RoundTrip(trace: trace), Recorder(name: "inner", trace: trace)])
        let answer = chain.start(Request(method: .GET, target: "/"), context: Self.context { _, context in
            trace.add("handler")
            seen.withLock { $0 = context.facts.clientAddress }
            return .now(Response(status: .ok))
        })
        guard case .later(let start) = answer else { Issue.record("a waiting layer answered at once"); return }
        #expect(trace.entries == ["enter outer", "enter round trip"], "nothing inside the waiting layer ran yet")
        let onLoop = await withCheckedContinuation { continuation in
            start(Completion(on: loop) { result in
                #expect((try? result.get())?.status == .ok)
                continuation.resume(returning: loop.inLoopThread)
            })
        }
        #expect(onLoop, "the response was delivered on the request's loop")
        #expect(seen.withLock { $0 } == "198.51.100.7", "the handler saw the context the layer handed back")
        #expect(trace.entries == ["enter outer", "enter round trip", "enter inner", "handler",
                                  "leave inner 200", "leave round trip 200", "leave outer 200"])
    }

    @Test func aLayerWhoseWaitFailsIsAnsweredAsAnErrorByTheLayersOutside() {
        struct Failing: Middleware {
            func enter(_ request: Request, context: inout RequestContext) -> Entry {
                struct Down: Error {}
                return .later { completion in completion(.failure(Down())) }
            }
        }
        let trace = Trace()
        let answer = Self.chain([Recorder(name: "outer", trace: trace), Failing(), Recorder(name: "inner", trace: trace)])
            .start(Request(method: .GET, target: "/"), context: Self.context())
        guard case .later(let start) = answer else { Issue.record("answered at once"); return }
        let answered = Locked<Response?>(nil)
        start(Completion(on: RecordingQueue()) { result in answered.withLock { $0 = try? result.get() } })
        #expect(answered.withLock { $0 }?.status == .internalServerError)
        #expect(trace.entries == ["enter outer", "leave outer 500"])
    }
}

/// What the layers of a test chain did, in order.
final class Trace: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}

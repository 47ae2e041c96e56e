import Foundation
import Logging
import Testing
@testable import FilmAPI

/// Requests through the whole chain in-process, then the scrape they leave behind.
@Suite struct MetricsMiddlewareTests {
    let metrics = MetricsRegistry()
    let application: Application

    init() throws {
        let store = MemoryFilmStore()
        var config = Config()
        config.auth.anonymousRole = "admin"
        config.rateLimits.enabled = false
        let services = Services(store: store, lifecycle: Lifecycle(), sink: try LogSink(path: "/dev/null"), level: LogLevelControl(.info),
                                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), metrics: metrics)
        application = Composition.application(config: config, services: services, reader: store,
                                              security: Composition.securityChain(config: config, services: services))
    }

    func send(_ method: HTTPMethod, _ target: String) async -> Response {
        await application.respond(to: Request(method: method, target: target))
    }

    /// The label part of every sample line (`{...}`): sample values are numbers with any digits.
    func labelSets() -> [Substring] {
        MetricsExpositionTests.samples(metrics).compactMap { line in
            guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") else { return nil }
            return line[open...close]
        }
    }

    /// The `_count` sample of one series, nil when the series does not exist.
    func count(_ method: String, _ route: String, _ status: Int) -> String? {
        let prefix = "http_server_request_duration_seconds_count{http_request_method=\"\(method)\",http_route=\"\(route)\",http_response_status_code=\"\(status)\"} "
        return MetricsExpositionTests.samples(metrics).first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    @Test func requestsAreLabelledWithTheirRouteTemplate() async {
        #expect(await send(.GET, "/films/123").status == .notFound)
        #expect(await send(.GET, "/films/123").status == .notFound)
        #expect(count("GET", "/films/{id}", 404) == "2")
        #expect(!labelSets().contains { $0.contains("123") })
    }

    @Test func unknownPathsShareOneLabel() async {
        _ = await send(.GET, "/nowhere")
        _ = await send(.GET, "/elsewhere/deep")
        #expect(count("GET", "_unmatched", 404) == "2")
        #expect(!labelSets().contains { $0.contains("nowhere") || $0.contains("elsewhere") })
    }

    @Test func wrongMethodAndHeadAreCountedAsSent() async {
        #expect(await send(.DELETE, "/films").status == .methodNotAllowed)
        #expect(await send(.HEAD, "/healthz").status == .ok)
        #expect(count("DELETE", "/films", 405) == "1")
        #expect(count("HEAD", "/healthz", 200) == "1")
        #expect(count("GET", "/healthz", 200) == nil)
    }

    @Test func refusedRequestsAreCounted() {
        _ = application.refuse(.headerFieldsTooLarge, method: .other, target: "", peer: PeerAddress(host: "127.0.0.1", port: 1))
        #expect(count("_OTHER", "_refused", 431) == "1")
    }

    @Test func activeRequestsReturnToZero() async {
        _ = await send(.GET, "/healthz")
        _ = await send(.GET, "/nowhere")
        #expect(metrics.activeRequests == 0)
    }

    @Test func theScrapeCountsItselfAsActive() async {
        let response = await send(.GET, "/metrics")
        #expect(response.status == .ok)
        #expect(response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(String(decoding: response.body, as: UTF8.self).contains("\nhttp_server_active_requests 1\n"))
        #expect(count("GET", "/metrics", 200) == "1")
    }

    @Test func aThrowingEndpointIsCountedWithTheStatusTheChainAnswers() async throws {
        struct Boom: Error {}
        let chain = MiddlewareChain([MetricsMiddleware(metrics: metrics)], around: { _, _ in throw Boom() }) { error, context in
            ErrorResponse.response(for: error, context: context, logger: Logger(label: "test"))
        }
        let context = RequestContext(requestID: "t", clientAddress: "127.0.0.1")
        context.route = "/films"
        let response = await chain.respond(to: Request(method: .POST, target: "/films"), context: context)
        #expect(response.status == .internalServerError)
        #expect(count("POST", "/films", 500) == "1")
        #expect(metrics.activeRequests == 0)
    }

    @Test func aLayerThatAnswersSkipsTheInnerLayersAndIsSeenByTheOuterOnes() async {
        struct Recorder: Middleware {
            let name: String
            let answers: Bool
            let trace: Trace
            func enter(_ request: Request, context: RequestContext) -> Response? {
                trace.add("enter \(name)")
                return answers ? Response(status: .noContent) : nil
            }
            func leave(_ request: Request, context: RequestContext, response: inout Response) {
                trace.add("leave \(name) \(response.status.code)")
            }
        }
        let trace = Trace()
        let layers: [any Middleware] = [Recorder(name: "outer", answers: false, trace: trace),
                                        Recorder(name: "answering", answers: true, trace: trace),
                                        Recorder(name: "inner", answers: false, trace: trace)]
        let chain = MiddlewareChain(layers, around: { _, _ in trace.add("endpoint"); return Response(status: .ok) }) { _, _ in
            Response(status: .internalServerError)
        }
        let response = await chain.respond(to: Request(method: .GET, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1"))
        #expect(response.status == .noContent)
        #expect(trace.entries == ["enter outer", "enter answering", "leave outer 204"])
    }
}

@Suite struct ChainStartTests {
    struct Recorder: Middleware {
        let trace: Trace
        func enter(_ request: Request, context: RequestContext) -> Response? { trace.add("enter"); return nil }
        func leave(_ request: Request, context: RequestContext, response: inout Response) {
            trace.add("leave \(response.status.code)")
        }
    }

    func chain(_ trace: Trace, immediately: @escaping ImmediateResponder) -> MiddlewareChain {
        MiddlewareChain([Recorder(trace: trace)], around: { _, _ in trace.add("endpoint"); return Response(status: .created) },
                        immediately: immediately) { _, _ in Response(status: .internalServerError) }
    }

    @Test func anImmediateAnswerRunsTheWholeChainAtOnce() {
        let trace = Trace()
        let start = chain(trace, immediately: { _, _ in trace.add("immediate"); return Response(status: .ok) })
            .start(Request(method: .GET, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1"))
        guard case .answered(let response) = start else { Issue.record("suspended"); return }
        #expect(response.status == .ok)
        #expect(trace.entries == ["enter", "immediate", "leave 200"])
    }

    @Test func aThrowingImmediateEndpointIsAnsweredAsAnError() {
        let trace = Trace()
        struct Boom: Error {}
        let start = chain(trace, immediately: { _, _ in throw Boom() })
            .start(Request(method: .GET, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1"))
        guard case .answered(let response) = start else { Issue.record("suspended"); return }
        #expect(response.status == .internalServerError)
        #expect(trace.entries == ["enter", "leave 500"])
    }

    @Test func aDeferredEndpointAnswersThroughItsCompletionAfterTheLayersLeave() async {
        let trace = Trace()
        let later = Locked<Completion<Response>?>(nil)
        let chain = MiddlewareChain([Recorder(trace: trace)], around: { _, _ in Response(status: .noContent) },
                                    deferring: { _, _ in { _, _, completion in trace.add("endpoint"); later.withLock { $0 = completion } } }) { _, _ in
            Response(status: .serviceUnavailable)
        }
        guard case .deferred(let rest) = chain.start(Request(method: .POST, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1")) else {
            Issue.record("not deferred"); return
        }
        let answered = Locked<Response?>(nil)
        rest.finish(on: RecordingQueue()) { response in answered.withLock { $0 = response } }
        #expect(trace.entries == ["enter", "endpoint"], "nothing left before the write completes")
        #expect(answered.withLock { $0 } == nil)
        struct Unavailable: Error {}
        later.withLock { $0 }?(.failure(Unavailable()))
        #expect(answered.withLock { $0 }?.status == .serviceUnavailable)
        #expect(trace.entries == ["enter", "endpoint", "leave 503"])
    }

    @Test func aDeferredEndpointThatThrowsIsAnsweredAtOnce() {
        let trace = Trace()
        struct Invalid: Error {}
        let chain = MiddlewareChain([Recorder(trace: trace)], around: { _, _ in Response(status: .noContent) },
                                    deferring: { _, _ in { _, _, _ in throw Invalid() } }) { _, _ in Response(status: .badRequest) }
        guard case .deferred(let rest) = chain.start(Request(method: .POST, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1")) else {
            Issue.record("not deferred"); return
        }
        let answered = Locked<Response?>(nil)
        rest.finish(on: RecordingQueue()) { response in answered.withLock { $0 = response } }
        #expect(answered.withLock { $0 }?.status == .badRequest)
        #expect(trace.entries == ["enter", "leave 400"])
    }

    @Test func anEndpointThatMustSuspendLeavesTheRestForATask() async {
        let trace = Trace()
        let start = chain(trace, immediately: { _, _ in nil })
            .start(Request(method: .GET, target: "/"), context: RequestContext(requestID: "t", clientAddress: "::1"))
        guard case .suspending(let rest) = start else { Issue.record("answered at once"); return }
        #expect(trace.entries == ["enter"])
        let response = await rest.finish()
        #expect(response.status == .created)
        #expect(trace.entries == ["enter", "endpoint", "leave 201"])
    }
}

/// What the layers of a test chain did, in order.
final class Trace: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}

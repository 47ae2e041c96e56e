import Foundation
import Logging
import Testing
@testable import FilmAPI

/// Requests through the whole chain in-process, then the scrape they leave behind.
@Suite struct MetricsMiddlewareTests {
    let metrics = MetricsRegistry()
    let application: Application

    init() throws {
        application = try TestApp(TestApp.open, metrics: metrics).app
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
        let chain = MiddlewareChain([MetricsMiddleware(metrics: metrics)]) { error, context in
            ErrorResponse.response(for: error, context: context, logger: Logger(label: "test"))
        }
        let context = RequestContext(routing: Routing(template: "/films", endpoint: Endpoint(role: nil) { _, _ in throw Boom() }),
                                     facts: RequestFacts(requestID: "t", clientAddress: "127.0.0.1"))
        let response = await chain.respond(to: Request(method: .POST, target: "/films"), context: context)
        #expect(response.status == .internalServerError)
        #expect(count("POST", "/films", 500) == "1")
        #expect(metrics.activeRequests == 0)
    }
}

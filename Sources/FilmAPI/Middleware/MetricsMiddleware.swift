/// Records every request that reaches the chain into the metrics: `http_server_active_requests`
/// while it runs, then its duration by method, route template (`_unmatched` for an unknown
/// path) and status. Placed right inside the request log, so 404s, 405s and 429s are counted.
struct MetricsMiddleware: Middleware {
    let metrics: MetricsRegistry

    init(metrics: MetricsRegistry) { self.metrics = metrics }

    func enter(_ request: Request, context: inout RequestContext) -> Entry {
        metrics.requestBegan()
        return .proceed
    }

    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        let elapsed = (ContinuousClock.now - context.facts.startedAt).components  // once: each read converts
        let nanoseconds = max(0, elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        metrics.requestEnded(method: request.method, route: context.routing.template, status: response.status.code, nanoseconds: UInt64(nanoseconds))
    }
}

/// Records every request that reaches the chain into the metrics: `http_server_active_requests`
/// while it runs, then its duration by method, route template (`_unmatched` for an unknown
/// path) and status. Placed right inside the request log, so 404s, 405s and 429s are counted.
public struct MetricsMiddleware: Middleware {
    let metrics: MetricsRegistry

    public init(metrics: MetricsRegistry) { self.metrics = metrics }

    public func handle(_ request: Request, context: RequestContext, next: Responder) async throws -> Response {
        metrics.requestBegan()
        do {
            let response = try await next(request, context)
            ended(request, context, status: response.status)
            return response
        } catch {
            // Only reached when no ErrorMiddleware below answered; the application's last line
            // then answers with this status.
            ended(request, context, status: ErrorMiddleware.status(for: error))
            throw error
        }
    }

    private func ended(_ request: Request, _ context: RequestContext, status: HTTPStatus) {
        let elapsed = ContinuousClock.now - context.startedAt
        let nanoseconds = max(0, elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        metrics.requestEnded(method: request.method, route: context.route, status: status.code, nanoseconds: UInt64(nanoseconds))
    }
}

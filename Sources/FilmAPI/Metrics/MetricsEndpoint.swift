/// `GET /metrics` (and HEAD): the registry in the Prometheus text format, version 0.0.4.
struct MetricsEndpoint: Sendable {
    let registry: MetricsRegistry

    init(registry: MetricsRegistry) { self.registry = registry }

    func scrape(_ request: Request, _ context: RequestContext) throws -> Response {
        Response(status: .ok, headers: HTTPHeaders([("Content-Type", ExpositionWriter.contentType)]),
                 body: registry.exposition().bytes)
    }
}

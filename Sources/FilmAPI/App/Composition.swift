import Logging

/// The composition root: one place that turns a `Config` into the running parts.
public enum Composition {
    /// One application per event loop: `reader` is that loop's read connection.
    public static func application(config: Config, services: Services, reader: any FilmReader) -> Application {
        let logger = services.logger
        let metrics = services.metrics
        let films = FilmController(store: services.store, reader: reader, maxBodyBytes: config.limits.maxBodyBytes)
        let health = HealthController(store: services.store, lifecycle: services.lifecycle)
        let router = Routes.router(films: films, health: health, metrics: MetricsEndpoint(registry: metrics))
        let requestLog = RequestLog(sink: services.sink, level: services.level)
        let responseHeaders = ResponseHeadersMiddleware(crossOriginResourcePolicy: config.headers.crossOriginResourcePolicy)
        let middleware: [any Middleware] = [
            RequestLogMiddleware(log: requestLog),
            MetricsMiddleware(metrics: metrics),
            responseHeaders,
            CORSMiddleware(policy: CORSPolicy(config.cors), methods: { [router] in router.methods(forPath: $0) }),
            ErrorMiddleware(logger: logger),
        ]
        return Application(router: router, middleware: middleware, requestLog: requestLog,
                           responseHeaders: responseHeaders, trustedProxies: config.server.trustedProxies.compactMap(AddressRange.init),
                           metrics: metrics, logger: logger)
    }

    public static func transportLimits(_ limits: LimitSettings) -> TransportLimits {
        TransportLimits(maxBodyBytes: limits.maxBodyBytes, maxHeaderBytes: limits.maxHeaderBytes,
                        maxURIBytes: limits.maxURIBytes,
                        headerTimeoutMilliseconds: Int(limits.headerTimeoutSeconds * 1000),
                        idleTimeoutSeconds: limits.idleTimeoutSeconds, maxConnections: limits.maxConnections)
    }
}

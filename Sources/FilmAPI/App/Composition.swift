import Logging

/// The composition root: one place that turns a `Config` into the running parts.
public enum Composition {
    public static func application(config: Config, store: any FilmStore, lifecycle: Lifecycle,
                                   sink: LogSink, logger: Logger, metrics: MetricsRegistry = MetricsRegistry()) -> Application {
        let films = FilmController(store: store, maxBodyBytes: config.limits.maxBodyBytes)
        let health = HealthController(store: store, lifecycle: lifecycle)
        let router = Routes.router(films: films, health: health, metrics: MetricsEndpoint(registry: metrics))
        let requestLog = RequestLog(sink: sink, enabled: (LogLevelName.parse(config.logging.level) ?? .info) <= .info)
        let responseHeaders = ResponseHeadersMiddleware(crossOriginResourcePolicy: config.headers.crossOriginResourcePolicy)
        let middleware: [any Middleware] = [
            RequestLogMiddleware(log: requestLog),
            MetricsMiddleware(metrics: metrics),
            responseHeaders,
            ErrorMiddleware(logger: logger),
        ]
        return Application(router: router, middleware: middleware, requestLog: requestLog,
                           responseHeaders: responseHeaders, metrics: metrics, logger: logger)
    }

    public static func transportLimits(_ limits: LimitSettings) -> TransportLimits {
        TransportLimits(maxBodyBytes: limits.maxBodyBytes, maxHeaderBytes: limits.maxHeaderBytes,
                        maxURIBytes: limits.maxURIBytes,
                        headerTimeoutMilliseconds: Int(limits.headerTimeoutSeconds * 1000),
                        idleTimeoutSeconds: limits.idleTimeoutSeconds, maxConnections: limits.maxConnections)
    }
}

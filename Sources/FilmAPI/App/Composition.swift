import Logging

/// The composition root: one place that turns a `Config` into the running parts.
public enum Composition {
    public static func application(config: Config, store: any FilmStore, lifecycle: Lifecycle,
                                   sink: LogSink, logger: Logger, keys: KeyDirectory = KeyDirectory(),
                                   usage: KeyUsage = KeyUsage(), clock: SecurityClock = .system) -> Application {
        let films = FilmController(store: store, maxBodyBytes: config.limits.maxBodyBytes)
        let health = HealthController(store: store, lifecycle: lifecycle)
        let router = Routes.router(films: films, health: health)
        let requestLog = RequestLog(sink: sink, enabled: (LogLevelName.parse(config.logging.level) ?? .info) <= .info)
        let responseHeaders = ResponseHeadersMiddleware(crossOriginResourcePolicy: config.headers.crossOriginResourcePolicy)
        let security = SecurityChain(config: config, router: router, keys: keys, usage: usage, clock: clock, logger: logger)
        let middleware: [any Middleware] = [
            RequestLogMiddleware(log: requestLog),
            responseHeaders,
            ErrorMiddleware(logger: logger),
        ] + security.middleware
        return Application(router: router, middleware: middleware, requestLog: requestLog,
                           responseHeaders: responseHeaders, logger: logger, security: security)
    }

    public static func transportLimits(_ limits: LimitSettings) -> TransportLimits {
        TransportLimits(maxBodyBytes: limits.maxBodyBytes, maxHeaderBytes: limits.maxHeaderBytes,
                        maxURIBytes: limits.maxURIBytes,
                        headerTimeoutMilliseconds: Int(limits.headerTimeoutSeconds * 1000),
                        idleTimeoutSeconds: limits.idleTimeoutSeconds, maxConnections: limits.maxConnections)
    }
}

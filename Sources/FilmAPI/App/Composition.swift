import Logging

/// The composition root: one place that turns a `Config` into the running parts.
public enum Composition {
    /// One application per event loop: `reader` is that loop's read connection.
    /// `security` holds the limiter and key state shared by every loop (see `securityChain`).
    public static func application(config: Config, services: Services, reader: any FilmReader,
                                   security: SecurityChain) -> Application {
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
        ] + security.middleware
        return Application(router: router, middleware: middleware, requestLog: requestLog,
                           responseHeaders: responseHeaders, proxies: security.clientAddresses,
                           metrics: metrics, logger: logger, security: security)
    }

    /// The security layers and their state, built once per configuration and shared by every
    /// event loop: one limiter, so a client's allowance does not multiply with the loops.
    public static func securityChain(config: Config, services: Services, clock: SecurityClock = .system) -> SecurityChain {
        let security = SecurityChain(config: config, router: RouteTable.router(), keys: services.keys, usage: services.usage,
                                     clock: clock, logger: services.logger)
        services.metrics.registerGaugeSource(name: "filmd_ratelimit_tracked_clients",
                                             help: "Clients the rate limiter currently tracks.") {
            Double(security.limiter.trackedClients)
        }
        services.metrics.rateLimitDecisions.read {
            security.limiter.decisions.map { (labels: [$0.policy, $0.decision], count: UInt64($0.count)) }
        }
        services.metrics.authFailures.read {
            security.authFailures.snapshot.map { (labels: [$0.reason.rawValue], count: UInt64($0.count)) }
        }
        return security
    }

    /// The connections each client may hold, shared by every loop (SPEC §6).
    public static func connectionQuota(_ config: Config) -> ConnectionQuota {
        ConnectionQuota(perClient: config.limits.maxConnectionsPerClient, maxConnections: config.limits.maxConnections,
                        trustedProxies: config.server.trustedProxies)
    }

    public static func transportLimits(_ limits: LimitSettings) -> TransportLimits {
        TransportLimits(maxBodyBytes: limits.maxBodyBytes, maxHeaderBytes: limits.maxHeaderBytes,
                        maxURIBytes: limits.maxURIBytes,
                        headerTimeoutMilliseconds: Int(limits.headerTimeoutSeconds * 1000),
                        requestTimeoutMilliseconds: Int(limits.requestTimeoutSeconds * 1000),
                        idleTimeoutSeconds: limits.idleTimeoutSeconds, maxConnections: limits.maxConnections)
    }
}

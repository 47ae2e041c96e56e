import Logging

/// The composition root: one place that turns a `Config` into the running parts.
enum Composition {
    /// One application per event loop: `reader` is that loop's read connection, `redis` its
    /// connection to the shared rate-limit store (nil in memory mode). `security` is shared by
    /// every loop (see `securityState`). The whole middleware order is here.
    static func application(config: Config, services: Services, reader: any FilmReader,
                            security: SecurityState, redis: RedisConnection? = nil) -> Application {
        let metrics = services.metrics
        let handlers = Handlers(films: FilmController(store: services.store, reader: reader, maxBodyBytes: config.limits.maxBodyBytes),
                                health: HealthController(store: services.store, lifecycle: services.lifecycle),
                                metrics: MetricsEndpoint(registry: metrics))
        let router = Routes.router(handlers)
        let requestLog = RequestLog(sink: services.sink, level: services.level)
        let responseHeaders = ResponseHeadersMiddleware(crossOriginResourcePolicy: config.headers.crossOriginResourcePolicy)
        // Back to memory on a reload: the connection stays idle (a new URL needs a restart).
        let shared = config.rateLimits.storage == "memory" ? nil : redis.map { SharedRateLimits(connection: $0, limiter: security.limiter, clock: security.clock,
                                                  metrics: metrics.rateLimitStorage) }
        let middleware: [any Middleware] = [
            RequestLogMiddleware(log: requestLog),  // outermost: sees every answer, errors and 429s included
            MetricsMiddleware(metrics: metrics),
            responseHeaders,
            CORSMiddleware(policy: CORSPolicy(config.cors), methods: { [router] in router.methods(forPath: $0) }),
            ClientAddressMiddleware(resolver: security.clientAddresses),
            AuthenticationMiddleware(authenticator: Authenticator(directory: security.keys), anonymousRole: security.anonymousRole,
                                     usage: security.usage, clock: security.clock),
            RateLimitMiddleware(limiter: security.limiter, shared: shared, failures: security.authFailures, clock: security.clock,
                                logger: services.logger),
            AuthorizationMiddleware(failures: security.authFailures),  // last before the handler
        ]
        return Application(router: router, middleware: middleware, requestLog: requestLog, responseHeaders: responseHeaders,
                           proxies: security.clientAddresses, metrics: metrics, logger: services.logger, security: security)
    }

    /// The security state of a configuration, shared by every event loop, its counters in the metrics.
    static func securityState(config: Config, services: Services, clock: SecurityClock = .system) -> SecurityState {
        let security = SecurityState(config: config, keys: services.keys, usage: services.usage, clock: clock, logger: services.logger)
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

    /// The loop's connection to the shared rate-limit store, when `rate_limits.storage` names one.
    static func rateLimitStore(config: Config, loop: EventLoop, services: Services) -> RedisConnection? {
        guard case .success(.redis(let address)) = RateLimitStorage.parse(config.rateLimits.storage) else { return nil }
        let connection = RedisConnection(address: address, loop: loop, clock: .system, probeTimeoutMilliseconds: config.rateLimits.storageTimeoutMs,
                                         metrics: services.metrics.rateLimitStorage, logger: services.logger)
        connection.start()
        return connection
    }

    /// The connections each client may hold, shared by every loop (SPEC §6).
    static func connectionQuota(_ config: Config) -> ConnectionQuota {
        ConnectionQuota(perClient: config.limits.maxConnectionsPerClient, maxConnections: config.limits.maxConnections,
                        trustedProxies: config.server.trustedProxies)
    }

    static func transportLimits(_ limits: LimitSettings) -> TransportLimits {
        TransportLimits(maxBodyBytes: limits.maxBodyBytes, maxHeaderBytes: limits.maxHeaderBytes,
                        maxURIBytes: limits.maxURIBytes,
                        headerTimeoutMilliseconds: Int(limits.headerTimeoutSeconds * 1000),
                        requestTimeoutMilliseconds: Int(limits.requestTimeoutSeconds * 1000),
                        idleTimeoutSeconds: limits.idleTimeoutSeconds, maxConnections: limits.maxConnections)
    }
}

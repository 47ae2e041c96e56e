import Logging

/// SIGHUP: reopen the log file, read the configuration again, and if it is valid switch every
/// server to an application built from it, atomically (each request sees the old or the new
/// one, never a mix). A bad file keeps the running configuration and says why.
final class ConfigReload: @unchecked Sendable {
    private var current: Config
    private let load: @Sendable () throws -> Config
    private let workers: [Worker]
    private let services: Services
    private var security: SecurityState
    private let quota: ConnectionQuota
    private let notifier: SystemdNotifier
    private let logger: Logger

    init(current: Config, load: @escaping @Sendable () throws -> Config, workers: [Worker], services: Services,
         security: SecurityState, quota: ConnectionQuota, notifier: SystemdNotifier, logger: Logger) {
        self.security = security
        self.quota = quota
        self.current = current
        self.load = load
        self.workers = workers
        self.services = services
        self.notifier = notifier
        self.logger = logger
    }

    /// Loop thread (a signal event).
    func run() {
        notifier.reloading()
        do {
            try services.sink.reopen()
        } catch {
            logger.error("cannot reopen the log file; logging to the old one", metadata: ["error": .string("\(error)")])
        }
        let next: Config
        do {
            next = try load()
        } catch {
            logger.error("configuration reload failed; keeping the running configuration",
                         metadata: ["security.event": "config_reload_failed", "error": .string("\(error)")])
            notifier.ready(status: "serving (reload failed: \(error))")
            return
        }
        let needRestart = Self.restartOnlyChanges(from: current, to: next)
        if !needRestart.isEmpty {
            logger.warning("some changed keys take effect only after a restart", metadata: ["config.keys": .string(needRestart.joined(separator: ", "))])
        }
        services.level.level = LogLevelName.parse(next.logging.level) ?? .info
        // The limiter keeps its counters unless what it counts changed.
        if next.rateLimits != current.rateLimits || next.auth != current.auth || next.server.trustedProxies != current.server.trustedProxies {
            security = Composition.securityState(config: next, services: services)
            logger.warning("rate limits, authentication or trusted proxies changed: rate-limit counters start afresh")
        }
        let security = self.security
        quota.update(perClient: next.limits.maxConnectionsPerClient, maxConnections: next.limits.maxConnections,
                     trustedProxies: next.server.trustedProxies)
        var limits = Composition.transportLimits(next.limits)
        limits.maxConnections = (next.limits.maxConnections + workers.count - 1) / workers.count
        for worker in workers {
            let application = Composition.application(config: next, services: services, reader: worker.reader, security: security,
                                                      redis: worker.redis)
            worker.loop.execute { [limits] in
                worker.server.replace(handler: application)
                worker.server.apply(limits)
            }
        }
        current = next
        // A security event (SPEC §5): logged at warning, like the others, so that it survives quiet levels.
        logger.warning("configuration reloaded", metadata: ["security.event": "config_reload"])
        notifier.ready(status: "serving (configuration reloaded)")
    }

    static func restartOnlyChanges(from old: Config, to new: Config) -> [String] {
        var keys: [String] = []
        if old.server.host != new.server.host { keys.append("server.host") }
        if old.server.port != new.server.port { keys.append("server.port") }
        if old.server.workers != new.server.workers { keys.append("server.workers") }
        if old.server.shutdownGraceSeconds != new.server.shutdownGraceSeconds { keys.append("server.shutdown_grace_seconds") }
        if old.database != new.database { keys.append("database") }
        if old.tls != new.tls { keys.append("tls") }
        if old.logging.file != new.logging.file { keys.append("logging.file") }
        // Each loop's connection is made at start; the timeout and the fallback follow a reload.
        if old.rateLimits.storage != new.rateLimits.storage { keys.append("rate_limits.storage") }
        return keys
    }
}

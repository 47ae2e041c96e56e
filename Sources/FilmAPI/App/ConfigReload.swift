import Logging

/// SIGHUP: reopen the log file, read the configuration again, and if it is valid switch every
/// server to an application built from it, atomically (each request sees the old or the new
/// one, never a mix). A bad file keeps the running configuration and says why.
final class ConfigReload: @unchecked Sendable {
    private var current: Config
    private let load: @Sendable () throws -> Config
    private let servers: [HTTPServer]
    private let services: Services
    private let notifier: SystemdNotifier
    private let logger: Logger

    init(current: Config, load: @escaping @Sendable () throws -> Config, servers: [HTTPServer], services: Services,
         notifier: SystemdNotifier, logger: Logger) {
        self.current = current
        self.load = load
        self.servers = servers
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
        for server in servers {
            server.replace(handler: Composition.application(config: next, services: services))
            server.apply(Composition.transportLimits(next.limits))
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
        return keys
    }
}

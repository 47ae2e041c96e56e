import Foundation
import Logging

/// `filmd serve`: builds the server from a configuration and runs it until SIGTERM; SIGHUP
/// reloads the configuration. systemd hears of each state change.
public final class Daemon {
    private let loadConfig: @Sendable () throws -> Config
    private let config: Config
    private let logger: Logger
    private let sink: LogSink
    private let level: LogLevelControl
    private let lifecycle = Lifecycle()
    private let notifier = SystemdNotifier()
    private var keep: [LoopEvent] = []

    /// `loadConfig` reads the configuration again from the same sources (for SIGHUP).
    public init(config: Config, loadConfig: @escaping @Sendable () throws -> Config, sink: LogSink,
                level: LogLevelControl, logger: Logger) {
        self.config = config
        self.loadConfig = loadConfig
        self.sink = sink
        self.level = level
        self.logger = logger
    }

    /// Runs the server on the calling thread; returns the process exit code.
    public func run() throws -> Int32 {
        let seam = LibEventSeam.check()
        guard seam.holds else {
            logger.critical(seam.probeFailed ? "cannot verify the libevent guard; not starting" : "libevent bypasses the guard; not starting",
                            metadata: ["libevent.version": .string(seam.version), "libevent.path": .string(seam.library),
                                       "libevent.bypassed": .string(seam.bypassed.joined(separator: ","))])
            sink.flush()
            return 70  // EX_SOFTWARE: this build and this libevent do not go together
        }
        ProcessMemory.keepFreedHeap()
        let backend = try CatalogueBackend.open(config, logger: logger)
        let services = Services(store: backend.store, lifecycle: lifecycle, sink: sink, level: level, logger: logger)
        let keySync = try KeySync.start(config.database, directory: services.keys, usage: services.usage, logger: logger)
        let security = Composition.securityState(config: config, services: services)
        let count = config.server.workers
        let share = (config.limits.maxConnections + count - 1) / count
        let tls = try config.tls.certificate.flatMap { certificate in
            try config.tls.privateKey.map { try TLSContext(certificate: certificate, privateKey: $0) }
        }
        let quota = Composition.connectionQuota(config)
        services.metrics.connectionsRefused.read { [(labels: ["per_client"], count: quota.refused)] }
        let workers = try (0..<count).map { _ in
            try Worker(config: config, services: services, backend: backend, security: security, connectionShare: share, tls: tls,
                       quota: quota)
        }
        let inherited = ListeningSocket.inherited()
        let sockets = inherited.isEmpty ? [try ListeningSocket.open(host: config.server.host, port: config.server.port)] : inherited
        for worker in workers {
            for socket in sockets { try worker.server.serve(socket) }
        }

        let main = workers[0].loop
        let shutdown = GracefulShutdown(servers: workers.map(\.server), sockets: sockets, lifecycle: lifecycle,
                                        grace: config.server.shutdownGraceSeconds, notifier: notifier, logger: logger)
        let reload = ConfigReload(current: config, load: loadConfig, workers: workers, services: services,
                                  security: security, quota: quota, notifier: notifier, logger: logger)
        keep.append(LoopEvent.every(milliseconds: 100, on: main) { [sink] in sink.flush() })
        if let interval = notifier.watchdogInterval {
            // From the main loop itself: a loop that stops turning stops the pings, and systemd acts.
            let milliseconds = Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
            keep.append(LoopEvent.every(milliseconds: max(milliseconds, 10), on: main) { [notifier] in notifier.watchdog() })
        }
        for signal in [SIGTERM, SIGINT] { keep.append(LoopEvent.signal(signal, on: main) { shutdown.begin() }) }
        keep.append(LoopEvent.signal(SIGHUP, on: main) { reload.run() })
        Glibc.signal(SIGPIPE, SIG_IGN)

        let addresses = sockets.map(\.localAddress)
        for address in addresses {
            logger.info("listening", metadata: ["server.address": .string(address.host), "server.port": .stringConvertible(address.port),
                                                "server.workers": .stringConvertible(count),
                                                "url.scheme": .string(tls == nil ? "http" : "https"),
                                                "socket.activated": .stringConvertible(!inherited.isEmpty)])
        }
        notifier.ready(status: "serving on " + addresses.map { "\($0.host):\($0.port)" }.joined(separator: ", "))
        for (index, worker) in workers.enumerated().dropFirst() { worker.start(name: "filmd-loop-\(index)") }
        ProcessMemory.releaseStartupPages()
        main.run()
        workers.dropFirst().forEach { $0.join() }
        keep.forEach { $0.cancel() }
        try keySync.stop()
        backend.close()
        workers.forEach { $0.closeReader() }
        logger.info("stopped", metadata: ["shutdown.in_flight_left": .stringConvertible(shutdown.leftInFlight)])
        sink.flush()
        return 0
    }
}

/// What outlives a configuration reload: the store, the process state, the log, the metrics
/// (a reload must not reset the counters Prometheus reads).
struct Services: Sendable {
    let store: any FilmStore
    let lifecycle: Lifecycle
    let sink: LogSink
    let level: LogLevelControl
    let logger: Logger
    let metrics: MetricsRegistry
    /// The API keys the server knows (refreshed from the database) and their last use.
    let keys: KeyDirectory
    let usage: KeyUsage

    init(store: any FilmStore, lifecycle: Lifecycle, sink: LogSink, level: LogLevelControl, logger: Logger,
         metrics: MetricsRegistry = MetricsRegistry(), keys: KeyDirectory = KeyDirectory(), usage: KeyUsage = KeyUsage()) {
        self.keys = keys
        self.usage = usage
        self.store = store
        self.lifecycle = lifecycle
        self.sink = sink
        self.level = level
        self.logger = logger
        self.metrics = metrics
    }
}

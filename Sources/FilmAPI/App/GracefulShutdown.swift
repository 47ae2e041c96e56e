import Logging

/// SIGTERM: readiness turns 503, the listeners close, requests in flight finish within the
/// grace period, then the loop ends (and with it the process, after the store's last commit).
final class GracefulShutdown: @unchecked Sendable {
    private let servers: [HTTPServer]
    private let lifecycle: Lifecycle
    private let grace: Double
    private let notifier: SystemdNotifier
    private let logger: Logger
    private var poll: LoopEvent?
    private var deadline: ContinuousClock.Instant?

    init(servers: [HTTPServer], lifecycle: Lifecycle, grace: Double, notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.servers = servers
        self.lifecycle = lifecycle
        self.grace = grace
        self.logger = logger
    }

    /// Loop thread (a signal event).
    func begin() {
        guard deadline == nil, let loop = servers.first?.loop else { return }
        deadline = .now + .milliseconds(Int(grace * 1000))
        lifecycle.beginDraining()
        notifier.stopping(status: "draining \(inFlight) requests")
        servers.forEach { $0.stopAccepting() }
        logger.info("draining", metadata: ["shutdown.in_flight": .stringConvertible(inFlight), "shutdown.grace_seconds": .stringConvertible(grace)])
        poll = LoopEvent.every(milliseconds: 20, on: loop) { [self] in check() }
        check()
    }

    private var inFlight: Int { servers.reduce(0) { $0 + $1.inFlight } }

    private func check() {
        guard let deadline, let loop = servers.first?.loop else { return }
        if inFlight == 0 || ContinuousClock.now >= deadline {
            if inFlight > 0 { logger.warning("grace period over with requests in flight", metadata: ["shutdown.in_flight": .stringConvertible(inFlight)]) }
            poll?.cancel()
            loop.stop()
        }
    }
}

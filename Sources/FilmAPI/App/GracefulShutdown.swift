import Logging
import Synchronization

/// SIGTERM: readiness turns 503, the listeners close, requests in flight (head received) finish
/// within the grace period, then the loops end, and with them the process, after the store's
/// last commit. Each loop drains itself on its own thread; the main loop ends last.
final class GracefulShutdown: @unchecked Sendable {
    private let servers: [HTTPServer]
    private let sockets: [ListeningSocket]
    /// Loops that still accept: the last to stop closes the listening sockets, once.
    private let accepting = Atomic<Int>(0)
    private let lifecycle: Lifecycle
    private let grace: Double
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let draining = Atomic<Int>(0)
    private let left = Atomic<Int>(0)
    private var polls: [LoopEvent] = []
    private var started = false

    init(servers: [HTTPServer], sockets: [ListeningSocket], lifecycle: Lifecycle, grace: Double, notifier: SystemdNotifier,
         logger: Logger) {
        self.servers = servers
        self.sockets = sockets
        self.lifecycle = lifecycle
        self.grace = grace
        self.notifier = notifier
        self.logger = logger
    }

    /// Requests still in flight when the grace period ended.
    var leftInFlight: Int { left.load(ordering: .relaxed) }

    /// Main loop thread (a signal event).
    func begin() {
        guard !started else { return }
        started = true
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        lifecycle.beginDraining()
        notifier.stopping(status: "draining")
        logger.info("draining", metadata: ["shutdown.grace_seconds": .stringConvertible(grace), "server.workers": .stringConvertible(servers.count)])
        draining.store(servers.count, ordering: .relaxed)
        accepting.store(servers.count, ordering: .relaxed)
        for server in servers.dropFirst() {
            server.loop.execute { [self] in drain(server, until: deadline) { server.loop.stop() } }
        }
        drain(servers[0], until: deadline) { [self] in
            // The main loop ends once every other loop has drained.
            let poll = LoopEvent.every(milliseconds: 20, on: servers[0].loop) { [self] in
                if draining.load(ordering: .acquiring) == 0 { servers[0].loop.stop() }
            }
            polls.append(poll)
        }
    }

    /// On `server`'s loop: stop accepting, wait for its requests, then `done`.
    private func drain(_ server: HTTPServer, until deadline: ContinuousClock.Instant, done: @escaping () -> Void) {
        server.stopAccepting()
        // Closed only when no loop listens on them any more: new clients are refused at once
        // rather than left in a backlog nobody accepts from.
        if accepting.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { sockets.forEach { $0.close() } }
        var poll: LoopEvent?
        let check = { [self] in
            let inFlight = server.inFlight
            guard inFlight == 0 || ContinuousClock.now >= deadline else { return }
            if inFlight > 0 {
                logger.warning("grace period over with requests in flight", metadata: ["shutdown.in_flight": .stringConvertible(inFlight)])
                left.wrappingAdd(inFlight, ordering: .relaxed)
            }
            poll?.cancel()
            poll = nil
            draining.wrappingSubtract(1, ordering: .releasing)
            done()
        }
        poll = LoopEvent.every(milliseconds: 20, on: server.loop) { check() }
    }
}

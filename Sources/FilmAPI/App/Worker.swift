import Foundation

/// One event loop with its evhttp server and its own read connection. Worker 0 runs on the
/// main thread (signals are handled there); the others on threads of their own.
final class Worker: @unchecked Sendable {
    let loop: EventLoop
    let server: HTTPServer
    let reader: any FilmReader
    /// Closes the reader, once the loop has stopped.
    let closeReader: () -> Void
    /// This loop's connection to the shared rate-limit store (it outlives reloads); nil in memory mode.
    let redis: RedisConnection?
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    init(config: Config, services: Services, backend: CatalogueBackend, security: SecurityState, connectionShare: Int,
         tls: TLSContext?, quota: ConnectionQuota) throws {
        loop = try EventLoop()
        (reader, closeReader) = try backend.reader(on: loop)
        var limits = Composition.transportLimits(config.limits)
        limits.maxConnections = connectionShare
        redis = Composition.rateLimitStore(config: config, loop: loop, services: services)
        server = try HTTPServer(loop: loop, handler: Composition.application(config: config, services: services, reader: reader,
                                                                           security: security, redis: redis),
                                limits: limits, tls: tls, quota: quota)
    }

    /// Runs the loop on a thread of its own until it is stopped.
    func start(name: String) {
        let thread = Thread { [self] in
            loop.run()
            finished.signal()
        }
        thread.name = name
        thread.start()
        self.thread = thread
    }

    /// Waits for a loop started with `start` to end.
    func join() {
        if thread != nil { finished.wait() }
    }
}

import Foundation
import Logging

/// `filmd serve`: builds the server from a configuration and runs it until SIGTERM.
public final class Daemon {
    private let config: Config
    private let logger: Logger
    private let sink: LogSink
    private let lifecycle = Lifecycle()
    private var keep: [LoopEvent] = []

    public init(config: Config, sink: LogSink, logger: Logger) {
        self.config = config
        self.sink = sink
        self.logger = logger
    }

    /// Runs the server on the calling thread; returns the process exit code.
    public func run() throws -> Int32 {
        let store = try SQLiteFilmStore(path: config.database.path, durability: config.database.durability)
        try seedIfEmpty(store)
        let keys = KeyDirectory(), usage = KeyUsage()
        let refresher = try KeyRefresher(path: config.database.path, durability: config.database.durability,
                                         directory: keys, usage: usage, logger: logger)
        Task { await refresher.start() }
        let application = Composition.application(config: config, store: store, lifecycle: lifecycle, sink: sink,
                                                  logger: logger, keys: keys, usage: usage)
        let loop = try EventLoop()
        let server = try HTTPServer(loop: loop, handler: application, limits: Composition.transportLimits(config.limits))
        let sockets = ListeningSocket.inherited()
        let listening = sockets.isEmpty ? [try ListeningSocket.open(host: config.server.host, port: config.server.port)] : sockets
        for socket in listening { try server.serve(socket) }

        keep.append(LoopEvent.every(milliseconds: 100, on: loop) { [sink] in sink.flush() })
        let shutdown = GracefulShutdown(servers: [server], lifecycle: lifecycle, grace: config.server.shutdownGraceSeconds, logger: logger)
        for signal in [SIGTERM, SIGINT] {
            keep.append(LoopEvent.signal(signal, on: loop) { shutdown.begin() })
        }
        Glibc.signal(SIGPIPE, SIG_IGN)

        for socket in listening {
            let address = socket.localAddress
            logger.info("listening", metadata: ["server.address": .string(address.host), "server.port": .stringConvertible(address.port),
                                                "socket.activated": .stringConvertible(!sockets.isEmpty)])
        }
        loop.run()
        keep.forEach { $0.cancel() }
        Self.waitFor { await refresher.stop() }
        logger.info("stopped", metadata: ["shutdown.in_flight_left": .stringConvertible(server.inFlight)])
        sink.flush()
        return 0
    }

    /// Runs `body` on the concurrency runtime and waits for it (start-up and shutdown only).
    private static func waitFor(_ body: @escaping @Sendable () async -> Void) {
        let semaphore = DispatchSemaphore(value: 0)
        Task {
            await body()
            semaphore.signal()
        }
        semaphore.wait()
    }

    private func seedIfEmpty(_ store: SQLiteFilmStore) throws {
        guard let path = config.database.seedCSV else { return }
        guard let contents = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            logger.warning("seed file not readable; starting without sample films", metadata: ["file.path": .string(path)])
            return
        }
        let films = try FilmImport.parse(contents, format: .csv)
        let semaphore = DispatchSemaphore(value: 0)
        let outcome = Box<Result<Int, any Error>>(.success(0))
        Task {
            do { outcome.value = .success(try await store.seed(films)) } catch { outcome.value = .failure(error) }
            semaphore.signal()
        }
        semaphore.wait()
        let loaded = try outcome.value.get()
        if loaded > 0 { logger.info("catalogue seeded", metadata: ["films.count": .stringConvertible(loaded), "file.path": .string(path)]) }
    }
}

/// A value handed back from a task to a thread that waits for it.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

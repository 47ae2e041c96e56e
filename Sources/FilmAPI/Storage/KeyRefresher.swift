import Logging

/// Keeps the server's keys in step with the database, on its own thread: every `interval` it
/// reads the `api_key_changes` counter (one indexed row) and reloads the keys only when it
/// moved, so a key created or revoked with `filmd keys` takes effect within that interval;
/// then it writes the queued `last_used_at` updates in one transaction.
actor KeyRefresher {
    private let executor: ThreadExecutor
    private let database: KeyDatabase
    private let directory: KeyDirectory
    private let usage: KeyUsage
    private let logger: Logger
    private var version: Int64
    private var polling: Task<Void, Never>?
    private var stopped = false

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the database and loads the keys into `directory` before returning.
    init(path: String, durability: Durability, directory: KeyDirectory, usage: KeyUsage, logger: Logger) throws {
        let database = try KeyDatabase(path: path, durability: durability)
        version = try database.version()
        try database.load(into: directory, logger: logger)
        self.database = database
        self.directory = directory
        self.usage = usage
        self.logger = logger
        executor = ThreadExecutor(name: "filmd-keys")  // last: a refresher that failed to open leaves no thread
    }

    func start(interval: Duration = .milliseconds(500)) {
        guard polling == nil, !stopped else { return }  // a start() that arrives after stop() is too late
        polling = Task {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }  // cancelled: stop() is under way
                refresh()
            }
        }
    }

    /// Stops polling (returns once the polling task has ended) and writes the last queued uses.
    func stop() async {
        stopped = true
        polling?.cancel()
        await polling?.value
        polling = nil
        refresh()
    }

    /// Closes the database and ends the refresher's thread; returns once that is done. After
    /// `stop()` (or without `start()`); nothing may use the refresher after this.
    nonisolated func close() {
        executor.close {
            self.assumeIsolated { refresher in
                precondition(refresher.polling == nil, "KeyRefresher.close() before stop()")
                refresher.database.close()
            }
        }
    }

    func refresh() {
        do {
            let current = try database.version()
            if current != version {
                try database.load(into: directory, logger: logger)
                version = current
            }
        } catch {
            logger.warning("api keys not reloaded; the previous set stays in use", metadata: ["error": "\(error)"])
        }
        database.writeUses(from: usage, logger: logger)
    }
}

import Foundation
import Logging

/// Keeps the server's keys in step with PostgreSQL, on its own thread, over one blocking
/// connection that LISTENs on `filmd_api_keys`: a key created or revoked on any node is
/// reloaded as soon as its commit's notification arrives. Every half second (the wait's
/// timeout) the queued `last_used_at` updates are written in one statement. A lost connection
/// is opened again with backoff, and the keys reloaded then (notifications sent while away
/// are lost); until then the previous keys stay in use.
final class PostgresKeyRefresher: @unchecked Sendable {
    private let url: PostgresURL
    private let directory: KeyDirectory
    private let usage: KeyUsage
    private let logger: Logger
    /// Used only by the refresher's thread once `start()` has run.
    private var database: PostgresKeyDatabase?
    /// Written to by `stop()`: wakes the thread from its wait.
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false

    static let waitMilliseconds: Int32 = 500
    static let maxBackoffMilliseconds: Int32 = 5000

    /// Connects, migrates and loads the keys into `directory` before returning.
    init(url: PostgresURL, directory: KeyDirectory, usage: KeyUsage, logger: Logger) throws {
        self.url = url
        self.directory = directory
        self.usage = usage
        self.logger = logger
        database = try Self.listening(url, directory: directory, logger: logger)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PGError(message: "cannot create the refresher's wake-up pipe") }
        wake = (fds[0], fds[1])
    }

    func start() {
        let thread = Thread { self.run() }
        thread.name = "filmd-keys"
        thread.start()
    }

    /// Ends the thread (after its last write of `last_used_at`) and returns once it has; after `start()`.
    func stop() {
        lock.withLock { stopping = true }
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        finished.wait()
        close(wake.read)
        close(wake.write)
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        var backoff: Int32 = 100
        while !isStopping {
            guard let database else {
                waitForWake(milliseconds: backoff)
                backoff = min(backoff * 2, Self.maxBackoffMilliseconds)
                reconnect()
                continue
            }
            backoff = 100
            do {
                let channels = try database.connection.notifications(waitingUpTo: Self.waitMilliseconds, wake: wake.read)
                if !channels.isEmpty { try database.load(into: directory, logger: logger) }
                database.writeUses(from: usage, logger: logger)
            } catch {
                logger.warning("api key notifications lost; the previous keys stay in use while filmd reconnects",
                               metadata: ["error": "\(error)"])
                database.close()
                self.database = nil
            }
        }
        database?.writeUses(from: usage, logger: logger)
        database?.close()
        finished.signal()
    }

    private func reconnect() {
        do {
            database = try Self.listening(url, directory: directory, logger: logger)
            logger.info("api key notifications restored; keys reloaded")
        } catch {
            logger.warning("api key database unreachable; retrying", metadata: ["error": "\(error)"])
        }
    }

    /// LISTEN first, then load: a change committed in between is in the load or notified.
    private static func listening(_ url: PostgresURL, directory: KeyDirectory, logger: Logger) throws -> PostgresKeyDatabase {
        let database = try PostgresKeyDatabase(url: url)
        do {
            try database.connection.execute("LISTEN \(PostgresMigrations.keyChannel)")
            try database.load(into: directory, logger: logger)
        } catch {
            database.close()
            throw error
        }
        return database
    }

    private func waitForWake(milliseconds: Int32) {
        var fd = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, milliseconds)
    }
}

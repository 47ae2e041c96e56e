import Logging

/// The server's keys kept in step with their database while it runs: the SQLite file's change
/// counter polled (`KeyRefresher`), or PostgreSQL's notifications (`PostgresKeyRefresher`).
enum KeySync {
    case sqlite(KeyRefresher)
    case postgres(PostgresKeyRefresher)

    /// Loads the keys into `directory`, then keeps them up to date until `stop()`.
    static func start(_ settings: DatabaseSettings, directory: KeyDirectory, usage: KeyUsage, logger: Logger) throws -> KeySync {
        if let url = settings.postgresURL {
            let refresher = try PostgresKeyRefresher(url: url, directory: directory, usage: usage, logger: logger)
            refresher.start()
            return .postgres(refresher)
        }
        let refresher = try KeyRefresher(path: settings.path, durability: settings.durability, directory: directory,
                                         usage: usage, logger: logger)
        Task { await refresher.start() }
        return .sqlite(refresher)
    }

    /// Writes the last queued uses and closes the database; returns once that is done.
    func stop() throws {
        switch self {
        case .sqlite(let refresher):
            try Seeding.waitFor { await refresher.stop() }
            refresher.close()
        case .postgres(let refresher):
            refresher.stop()
        }
    }
}

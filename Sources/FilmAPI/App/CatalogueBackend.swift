import Logging

/// Where the catalogue lives, chosen from the configuration: the SQLite file at
/// `database.path`, or the PostgreSQL database at `database.url` (SPEC §9). Gives the store
/// every loop writes through and each loop's reader.
enum CatalogueBackend {
    case sqlite(SQLiteFilmStore, path: String)
    case postgres(PostgresFilmStore)

    /// Opens the store; a PostgreSQL schema is brought up to date and seeded first, blocking,
    /// before any loop runs.
    static func open(_ config: Config, logger: Logger) throws -> CatalogueBackend {
        guard let text = config.database.url, let url = PostgresURL(text) else {
            let store = try SQLiteFilmStore(path: config.database.path, durability: config.database.durability)
            try Seeding.seedIfEmpty(store, from: config.database.seedCSV, logger: logger)
            return .sqlite(store, path: config.database.path)
        }
        let setup = try PostgresCatalogue(url: url)  // migrates
        defer { setup.close() }
        try Seeding.seedIfEmpty(from: config.database.seedCSV, logger: logger, setup.seedIfEmpty)
        // A write or read without an answer this long counts as a lost connection (never past the request timeout).
        let timeout = Int(min(config.limits.requestTimeoutSeconds, 5) * 1000)
        return .postgres(PostgresFilmStore(url: url, timeoutMilliseconds: timeout, logger: logger))
    }

    var store: any FilmStore {
        switch self {
        case .sqlite(let store, _): store
        case .postgres(let store): store
        }
    }

    /// The reader of `loop` and how to close it once the loop has stopped.
    func reader(on loop: EventLoop) throws -> (reader: any FilmReader, close: () -> Void) {
        switch self {
        case .sqlite(_, let path):
            let reader = try SQLiteFilmReader(path: path)
            return (reader, reader.close)
        case .postgres(let store):
            let reader = store.attach(loop)
            return (reader, reader.close)
        }
    }

    /// Closes the store, once every loop has stopped.
    func close() {
        switch self {
        case .sqlite(let store, _): store.close()
        case .postgres(let store): store.close()
        }
    }
}

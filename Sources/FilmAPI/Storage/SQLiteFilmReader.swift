import Synchronization

/// One event loop's read connection: the loop reads on it synchronously and answers `.now`
/// (see `FilmReader`).
final class SQLiteFilmReader: FilmReader, @unchecked Sendable {
    private let database: FilmDatabase
    private let busy = Atomic<Bool>(false)

    /// Opens a reader on a database that a `SQLiteFilmStore` has already set up.
    init(path: String) throws {
        database = try FilmDatabase(path: path, durability: .normal, readOnly: true)
    }

    func randomFilm() -> Answer<Film?> {
        .reading { try exclusively { try database.randomFilm() } }
    }

    func film(id: Int64) -> Answer<Film?> {
        .reading { try exclusively { try database.film(id: id) } }
    }

    func films(page: FilmPageRequest) -> Answer<[Film]> {
        .reading { try exclusively { try database.films(page: page) } }
    }

    /// Closes the connection, once the loop that reads on it has stopped.
    func close() {
        exclusively { database.close() }
    }

    /// SQLite connections opened NOMUTEX may move between threads but never be used by two
    /// at once; a reader is one loop's, and this says so loudly if that ever stops being true.
    private func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        precondition(!busy.exchange(true, ordering: .acquiring), "a film reader is used by two threads at once")
        defer { busy.store(false, ordering: .releasing) }
        return try body()
    }
}

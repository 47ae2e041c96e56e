/// One event loop's reads of the PostgreSQL catalogue, on a connection of the loop's own (reads
/// never wait behind a commit): answered `.later`, on the loop, after the round trip.
final class PostgresFilmReader: FilmReader, @unchecked Sendable {
    private let connection: PGLoopConnection

    init(connection: PGLoopConnection) {
        self.connection = connection
    }

    func randomFilm() -> Answer<Film?> { read(PGQuery(PostgresCatalogueSQL.random)) { $0.firstFilm } }

    func film(id: Int64) -> Answer<Film?> { read(PGQuery(PostgresCatalogueSQL.byID, [String(id)])) { $0.firstFilm } }

    func films(page: FilmPageRequest) -> Answer<[Film]> { read(PostgresCatalogueSQL.page(page)) { $0.films } }

    /// Ends the connection; once the loop has stopped.
    func close() { connection.close() }

    /// The completion is the request's, on this reader's loop: answered in place.
    private func read<T>(_ query: PGQuery, _ decode: @escaping @Sendable (PGResult) -> T) -> Answer<T> {
        .later { [connection] completion in
            connection.run([query]) { result in
                completion(result.map { decode($0[0]) }.mapError { StorageUnavailable(underlying: $0) })
            }
        }
    }
}

/// One event loop's reads of the PostgreSQL catalogue, on a connection of the loop's own (reads
/// never wait behind a commit): answered `.later`, on the loop, after the round trip.
final class PostgresFilmReader: FilmReader, @unchecked Sendable {
    private let connection: PGLoopConnection

    init(connection: PGLoopConnection) {
        self.connection = connection
    }

    /// One draw; when it hits a gap, more draws in a second round trip (see `randomDraw`).
    func randomFilm() -> Answer<Film?> {
        .later { [connection] completion in
            connection.run([PGQuery(PostgresCatalogueSQL.randomDraw)]) { drawn in
                guard case .success(let results) = drawn, results[0].count == 0 else { return completion(Self.decoded(drawn) { $0.firstFilm }) }
                connection.run([PGQuery(PostgresCatalogueSQL.random)]) { completion(Self.decoded($0) { $0.firstFilm }) }
            }
        }
    }

    func film(id: Int64) -> Answer<Film?> { read(PGQuery(PostgresCatalogueSQL.byID, [String(id)])) { $0.firstFilm } }

    func films(page: FilmPageRequest) -> Answer<[Film]> { read(PostgresCatalogueSQL.page(page)) { $0.films } }

    /// Ends the connection; once the loop has stopped.
    func close() { connection.close() }

    /// The completion is the request's, on this reader's loop: answered in place.
    private func read<T>(_ query: PGQuery, _ decode: @escaping @Sendable (PGResult) -> T) -> Answer<T> {
        .later { [connection] completion in
            connection.run([query]) { completion(Self.decoded($0, decode)) }
        }
    }

    private static func decoded<T>(_ result: Result<[PGResult], any Error>, _ decode: (PGResult) -> T) -> Result<T, any Error> {
        result.map { decode($0[0]) }.mapError { StorageUnavailable(underlying: $0) }
    }
}

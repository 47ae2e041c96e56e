/// The films in PostgreSQL as `filmd import` and `filmd export` use them.
public final class PostgresCatalogue: Catalogue {
    private let connection: PGBlockingConnection
    /// Rows per INSERT: one round trip each, all of them in one transaction.
    static let batch = 1000

    /// Connects and brings the schema up to date.
    public init(url: PostgresURL) throws {
        connection = try PGBlockingConnection(url: url)
        try PostgresMigrations.migrate(connection)
    }

    public func close() { connection.close() }

    /// Ids follow the file's order (WITH ORDINALITY); a failure anywhere rolls back every row.
    public func importFilms(_ films: [FilmImport.Row]) throws -> Int {
        try connection.transaction {
            for start in stride(from: 0, to: films.count, by: Self.batch) {
                let rows = films[start..<min(start + Self.batch, films.count)]
                try connection.execute("""
                    INSERT INTO films (name, studio, year, likes, dislikes)
                    SELECT name, studio, year, likes, dislikes
                    FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::bigint[])
                        WITH ORDINALITY AS row(name, studio, year, likes, dislikes, position)
                    ORDER BY position
                    """, [PGParameters.array(rows.map(\.film.name)), PGParameters.array(rows.map(\.film.studio)),
                          PGParameters.array(rows.map { $0.film.year.map(String.init) }),
                          PGParameters.array(rows.map { String($0.likes) }), PGParameters.array(rows.map { String($0.dislikes) })])
            }
        }
        return films.count
    }

    /// Every film in id order, a thousand at a time, from one snapshot.
    public func forEachFilm(_ body: (Film) throws -> Void) throws {
        try connection.transaction {
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var last: Int64 = 0
            while true {
                let page = try connection.execute("""
                    SELECT id, name, studio, year, likes, dislikes FROM films WHERE id > $1 ORDER BY id LIMIT \(Self.batch)
                    """, [String(last)])
                guard page.count > 0 else { return }
                for row in 0..<page.count { try body(page.film(row)) }
                last = page.int64(page.count - 1, 0)
            }
        }
    }

    /// `importFilms` when the catalogue is empty (the server's `database.seed_csv`), under a lock
    /// so that nodes starting together seed it once; how many films it stored.
    func seedIfEmpty(_ films: [FilmImport.Row]) throws -> Int {
        try connection.execute("SELECT pg_advisory_lock(\(PostgresMigrations.lockKey) + 1)")
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(PostgresMigrations.lockKey) + 1)") }  // also released on close
        guard try connection.execute("SELECT count(*) FROM (SELECT 1 FROM films LIMIT 1) AS one").int64(0, 0) == 0 else { return 0 }
        return try importFilms(films)
    }
}

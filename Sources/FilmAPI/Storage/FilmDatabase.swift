#if canImport(Glibc)
import Glibc
#endif

/// The catalogue's SQL, on one connection with every statement prepared once. Synchronous:
/// the store actor calls it off the event loop, the CLI commands call it directly.
final class FilmDatabase {
    let connection: SQLiteConnection
    private let selectByID, selectRandomDraw, selectRandomAfter, insert, like, dislike, update, remove: SQLiteStatement
    private let pageByID, pageByLikes, pageByScore, firstByID, firstByLikes, firstByScore: SQLiteStatement
    private let countFilms, selectAll, insertWithVotes: SQLiteStatement

    /// A writer sets the database up (WAL, durability, migrations); a reader only reads, on a
    /// database a writer has set up (`query_only`: a bug cannot make it write).
    init(path: String, durability: Durability, readOnly: Bool = false) throws(SQLiteError) {
        if readOnly {
            connection = try SQLiteConnection(path: path)
            connection.setBusyTimeout(milliseconds: SQLiteConnection.busyTimeoutMilliseconds)
            try connection.execute("PRAGMA query_only = 1")
        } else {
            connection = try SQLiteConnection.database(path: path, durability: durability)
            // Checkpoints run elsewhere (WALCheckpointer), never inside a COMMIT; a WAL that was
            // reset is cut back to 16 MiB.
            try connection.execute("PRAGMA wal_autocheckpoint = 0")
            try connection.execute("PRAGMA journal_size_limit = 16777216")
        }
        selectByID = try connection.prepare("SELECT id, name, studio, year, likes, dislikes FROM films WHERE id = ?1")
        // The random film: an id drawn uniformly in [min, max] and looked up, again on a gap, so
        // every stored film is equally likely (see `randomFilm`). min and max each in a query
        // of its own: SQLite reads a lone min() or max() off the index, but scans the table for
        // a query that has both.
        selectRandomDraw = try connection.prepare("""
            SELECT id, name, studio, year, likes, dislikes FROM films
            WHERE id = (SELECT low + (random() & 9223372036854775807) % (high - low + 1)
                        FROM (SELECT (SELECT min(id) FROM films) AS low, (SELECT max(id) FROM films) AS high))
            """)
        selectRandomAfter = try connection.prepare("""
            SELECT id, name, studio, year, likes, dislikes FROM films
            WHERE id >= (SELECT low + (random() & 9223372036854775807) % (high - low + 1)
                         FROM (SELECT (SELECT min(id) FROM films) AS low, (SELECT max(id) FROM films) AS high))
            ORDER BY id LIMIT 1
            """)
        insert = try connection.prepare("""
            INSERT INTO films (name, studio, year) VALUES (?1, ?2, ?3)
            RETURNING id, name, studio, year, likes, dislikes
            """)
        like = try connection.prepare("UPDATE films SET likes = likes + 1 WHERE id = ?1 RETURNING id, name, studio, year, likes, dislikes")
        dislike = try connection.prepare("UPDATE films SET dislikes = dislikes + 1 WHERE id = ?1 RETURNING id, name, studio, year, likes, dislikes")
        update = try connection.prepare("""
            UPDATE films SET name = coalesce(?2, name), studio = coalesce(?3, studio),
                year = CASE WHEN ?4 THEN ?5 ELSE year END
            WHERE id = ?1 RETURNING id, name, studio, year, likes, dislikes
            """)
        remove = try connection.prepare("DELETE FROM films WHERE id = ?1")
        firstByID = try connection.prepare("SELECT id, name, studio, year, likes, dislikes FROM films ORDER BY id LIMIT ?1")
        pageByID = try connection.prepare("SELECT id, name, studio, year, likes, dislikes FROM films WHERE id > ?2 ORDER BY id LIMIT ?1")
        firstByLikes = try connection.prepare("SELECT id, name, studio, year, likes, dislikes FROM films ORDER BY likes DESC, id LIMIT ?1")
        pageByLikes = try connection.prepare("""
            SELECT id, name, studio, year, likes, dislikes FROM films
            WHERE likes < ?2 OR (likes = ?2 AND id > ?3) ORDER BY likes DESC, id LIMIT ?1
            """)
        firstByScore = try connection.prepare("""
            SELECT id, name, studio, year, likes, dislikes FROM films ORDER BY (likes - dislikes) DESC, id LIMIT ?1
            """)
        pageByScore = try connection.prepare("""
            SELECT id, name, studio, year, likes, dislikes FROM films
            WHERE (likes - dislikes) < ?2 OR ((likes - dislikes) = ?2 AND id > ?3)
            ORDER BY (likes - dislikes) DESC, id LIMIT ?1
            """)
        insertWithVotes = try connection.prepare("INSERT INTO films (name, studio, year, likes, dislikes) VALUES (?1, ?2, ?3, ?4, ?5)")
        countFilms = try connection.prepare("SELECT count(*) FROM films")
        selectAll = try connection.prepare("SELECT id, name, studio, year, likes, dislikes FROM films WHERE id > ?1 ORDER BY id LIMIT 1000")
    }

    /// Closes the connection (every statement with it); the database is not used after this.
    func close() { connection.close() }

    func film(id: Int64) throws(SQLiteError) -> Film? {
        try one(selectByID.bind(.integer(id)))
    }

    /// Uniform over the stored films and O(log n) with gaps in the ids: up to 16 draws (one when
    /// the ids are dense); when all of them hit gaps (under 1% of picks unless fewer than a
    /// quarter of the ids in [min, max] still exist), the first film after one more draw.
    /// PostgreSQL's store picks the same way (`PostgresCatalogueSQL.randomDraw`).
    func randomFilm() throws(SQLiteError) -> Film? {
        for _ in 0..<16 {
            if let film = try one(selectRandomDraw.bind()) { return film }
        }
        return try one(selectRandomAfter.bind())
    }

    func add(_ film: FilmInput) throws(SQLiteError) -> Film {
        guard let stored = try one(insert.bind(.text(film.name), .text(film.studio), .optional(film.year))) else {
            throw SQLiteError(code: .error, message: "INSERT returned no row")
        }
        return stored
    }

    /// Stores an imported film with the votes it brings.
    func add(_ film: FilmInput, likes: Int64, dislikes: Int64) throws(SQLiteError) {
        try insertWithVotes.bind(.text(film.name), .text(film.studio), .optional(film.year), .integer(likes), .integer(dislikes)).run()
    }

    /// Stores imported rows in one transaction: all of them, or none (import and seeding).
    func importRows(_ rows: [FilmImport.Row]) throws {
        try transaction { for row in rows { try add(row.film, likes: row.likes, dislikes: row.dislikes) } }
    }

    func vote(_ vote: Vote, id: Int64) throws(SQLiteError) -> Film? {
        try one((vote == .like ? like : dislike).bind(.integer(id)))
    }

    func update(id: Int64, with patch: FilmPatch) throws(SQLiteError) -> Film? {
        let year: SQLiteValue = patch.year.flatMap { $0 }.map { .integer(Int64($0)) } ?? .null
        return try one(update.bind(.integer(id), patch.name.map(SQLiteValue.text) ?? .null,
                                   patch.studio.map(SQLiteValue.text) ?? .null,
                                   .integer(patch.year == nil ? 0 : 1), year))
    }

    func delete(id: Int64) throws(SQLiteError) -> Bool {
        try remove.bind(.integer(id)).run()
        return connection.changes > 0
    }

    func films(page: FilmPageRequest) throws(SQLiteError) -> [Film] {
        let limit = SQLiteValue.integer(Int64(page.limit + 1))
        let statement: SQLiteStatement
        switch (page.sort, page.after) {
        case (.id, nil): statement = try firstByID.bind(limit)
        case (.id, let after?): statement = try pageByID.bind(limit, .integer(after.id))
        case (.likes, nil): statement = try firstByLikes.bind(limit)
        case (.likes, let after?): statement = try pageByLikes.bind(limit, .integer(after.value), .integer(after.id))
        case (.score, nil): statement = try firstByScore.bind(limit)
        case (.score, let after?): statement = try pageByScore.bind(limit, .integer(after.value), .integer(after.id))
        }
        return try all(statement)
    }

    func count() throws(SQLiteError) -> Int {
        try countFilms.bind()
        defer { countFilms.reset() }
        return try countFilms.step() ? Int(countFilms.int64(0)) : 0
    }

    /// Every film in id order, a thousand at a time (for `filmd export`).
    func forEachFilm(_ body: (Film) throws -> Void) throws {
        var last: Int64 = 0
        while true {
            let batch = try all(selectAll.bind(.integer(last)))
            guard let tail = batch.last else { return }
            try batch.forEach(body)
            last = tail.id
        }
    }

    /// Runs `body` in one write transaction: all of it is committed, or none.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try connection.transaction(body)
    }

    private func one(_ statement: SQLiteStatement) throws(SQLiteError) -> Film? {
        defer { statement.reset() }
        return try statement.step() ? Self.film(from: statement) : nil
    }

    private func all(_ statement: SQLiteStatement) throws(SQLiteError) -> [Film] {
        var films: [Film] = []
        while try statement.step() { films.append(Self.film(from: statement)) }
        return films
    }

    private static func film(from row: SQLiteStatement) -> Film {
        Film(id: row.int64(0), name: row.text(1), studio: row.text(2),
             year: row.isNull(3) ? nil : Int(row.int64(3)), likes: row.int64(4), dislikes: row.int64(5))
    }
}

/// `database.durability`: when an acknowledged write is safe.
public enum Durability: String, Sendable, Codable, CaseIterable {
    /// WAL + synchronous=NORMAL: survives a crash of the process.
    case normal
    /// WAL + synchronous=FULL: survives a power loss.
    case full
}

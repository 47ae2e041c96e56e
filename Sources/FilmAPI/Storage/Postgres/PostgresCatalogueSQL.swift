/// The catalogue's statements on PostgreSQL, prepared once on every loop connection. They are
/// SQLite's (`FilmDatabase`) with PostgreSQL's parameters, except the random pick.
enum PostgresCatalogueSQL {
    private static let columns = "id, name, studio, year, likes, dislikes"

    static let byID = PGStatement("film_by_id", "SELECT \(columns) FROM films WHERE id = $1::bigint")
    /// The random pick, first try: one id drawn uniformly in [min, max] (two index probes) and
    /// looked up; no row when it is a gap. Whichever film it finds, each stored one was equally
    /// likely, and on a gap `random` answers instead, which is uniform too: so is the pair. A
    /// statement of its own because the executor's cost is the plan's size: this one runs in
    /// about a third of `random`'s time (pgbench, 100 000 films: 0.18–0.22 ms against 0.52–0.65).
    static let randomDraw = PGStatement("film_random_draw", """
        SELECT \(columns) FROM films WHERE id = (SELECT min(id) + floor(random() * (max(id) - min(id) + 1))::bigint FROM films)
        """)
    /// The random pick after `randomDraw` hit a gap. Uniform and O(log n) with gaps in the ids:
    /// 16 ids drawn in [min, max], the first that exists wins, so every stored film is equally
    /// likely. When all 16 miss (under 1% of picks unless fewer than a quarter of the ids in the
    /// range still exist), the first film at or after one more draw answers instead.
    static let random = PGStatement("film_random", """
        WITH bounds AS (SELECT min(id) AS low, max(id) AS high FROM films),
        draws AS (
            SELECT n, low + floor(random() * (high - low + 1))::bigint AS id
            FROM bounds, generate_series(1, 16) AS n WHERE low IS NOT NULL)
        (SELECT f.id, f.name, f.studio, f.year, f.likes, f.dislikes FROM draws d JOIN films f ON f.id = d.id ORDER BY d.n LIMIT 1)
        UNION ALL
        (SELECT \(columns) FROM films
         WHERE id >= (SELECT low + floor(random() * (high - low + 1))::bigint FROM bounds) ORDER BY id LIMIT 1)
        LIMIT 1
        """)
    static let insert = PGStatement("film_insert", """
        INSERT INTO films (name, studio, year) VALUES ($1::text, $2::text, $3::integer) RETURNING \(columns)
        """)
    static let like = PGStatement("film_like", "UPDATE films SET likes = likes + 1 WHERE id = $1::bigint RETURNING \(columns)")
    static let dislike = PGStatement("film_dislike", "UPDATE films SET dislikes = dislikes + 1 WHERE id = $1::bigint RETURNING \(columns)")
    static let update = PGStatement("film_update", """
        UPDATE films SET name = coalesce($2::text, name), studio = coalesce($3::text, studio),
            year = CASE WHEN $4::boolean THEN $5::integer ELSE year END
        WHERE id = $1::bigint RETURNING \(columns)
        """)
    static let delete = PGStatement("film_delete", "DELETE FROM films WHERE id = $1::bigint")
    static let firstByID = PGStatement("films_first_by_id", "SELECT \(columns) FROM films ORDER BY id LIMIT $1::bigint")
    static let pageByID = PGStatement("films_page_by_id", "SELECT \(columns) FROM films WHERE id > $2::bigint ORDER BY id LIMIT $1::bigint")
    static let firstByLikes = PGStatement("films_first_by_likes", "SELECT \(columns) FROM films ORDER BY likes DESC, id LIMIT $1::bigint")
    static let pageByLikes = PGStatement("films_page_by_likes", """
        SELECT \(columns) FROM films WHERE likes < $2::bigint OR (likes = $2::bigint AND id > $3::bigint)
        ORDER BY likes DESC, id LIMIT $1::bigint
        """)
    static let firstByScore = PGStatement("films_first_by_score", """
        SELECT \(columns) FROM films ORDER BY (likes - dislikes) DESC, id LIMIT $1::bigint
        """)
    static let pageByScore = PGStatement("films_page_by_score", """
        SELECT \(columns) FROM films
        WHERE (likes - dislikes) < $2::bigint OR ((likes - dislikes) = $2::bigint AND id > $3::bigint)
        ORDER BY (likes - dislikes) DESC, id LIMIT $1::bigint
        """)
    static let ping = PGStatement("ping", "SELECT 1")

    static let all = [byID, randomDraw, random, insert, like, dislike, update, delete, firstByID, pageByID, firstByLikes, pageByLikes,
                      firstByScore, pageByScore, ping]

    /// The query for one page (see `FilmReader.films(page:)`).
    static func page(_ page: FilmPageRequest) -> PGQuery {
        let limit = String(page.limit + 1)
        switch (page.sort, page.after) {
        case (.id, nil): return PGQuery(firstByID, [limit])
        case (.id, let after?): return PGQuery(pageByID, [limit, String(after.id)])
        case (.likes, nil): return PGQuery(firstByLikes, [limit])
        case (.likes, let after?): return PGQuery(pageByLikes, [limit, String(after.value), String(after.id)])
        case (.score, nil): return PGQuery(firstByScore, [limit])
        case (.score, let after?): return PGQuery(pageByScore, [limit, String(after.value), String(after.id)])
        }
    }

    static func vote(_ vote: Vote, id: Int64) -> PGQuery {
        PGQuery(vote == .like ? like : dislike, [String(id)])
    }

    static func update(id: Int64, with patch: FilmPatch) -> PGQuery {
        let year: String?? = patch.year.map { $0.map(String.init) }
        return PGQuery(update, [String(id), patch.name, patch.studio, year == nil ? "false" : "true", year ?? nil])
    }
}

extension PGResult {
    /// The first row as a film; nil when there is none.
    var firstFilm: Film? { count > 0 ? film(0) : nil }

    var films: [Film] { (0..<count).map(film) }
}

/// The database file as the command-line tools use it: import, export, backup. Synchronous,
/// on the caller's thread; safe beside a running server (WAL, busy timeout).
public final class CatalogueFile {
    private let database: FilmDatabase

    public init(path: String, durability: Durability) throws {
        database = try FilmDatabase(path: path, durability: durability)
    }

    /// Closes the connection; nothing may use the file after this.
    func close() { database.close() }

    /// Stores every film in one transaction: all or nothing.
    public func importFilms(_ films: [FilmImport.Row]) throws -> Int {
        try database.importRows(films)
        return films.count
    }

    func count() throws -> Int { try database.count() }

    public func forEachFilm(_ body: (Film) throws -> Void) throws {
        try database.forEachFilm(body)
    }

    /// An online, consistent copy (SQLite's backup API).
    public func backup(to path: String) throws {
        try database.connection.backup(to: path)
    }
}

/// The films as the command-line tools use them: `filmd import` and `filmd export`, against the
/// SQLite file (`CatalogueFile`) or PostgreSQL (`PostgresCatalogue`). Synchronous, on the
/// caller's thread; safe beside running servers.
public protocol Catalogue: AnyObject {
    /// Stores every film in one transaction: all or nothing.
    func importFilms(_ films: [FilmImport.Row]) throws -> Int
    /// Every film in id order.
    func forEachFilm(_ body: (Film) throws -> Void) throws
    /// Closes the connection; nothing may use the catalogue after this.
    func close()
}

/// The database file as the command-line tools use it: import, export, backup. Synchronous,
/// on the caller's thread; safe beside a running server (WAL, busy timeout).
public final class CatalogueFile: Catalogue {
    private let database: FilmDatabase

    public init(path: String, durability: Durability) throws {
        database = try FilmDatabase(path: path, durability: durability)
    }

    public func close() { database.close() }

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

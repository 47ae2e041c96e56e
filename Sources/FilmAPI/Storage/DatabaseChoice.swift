/// Which database holds the catalogue and the keys: PostgreSQL when `database.url` is set, else
/// the SQLite file at `database.path`. The commands and the server choose here, nowhere else.
extension DatabaseSettings {
    /// `url`, already validated by the configuration.
    public var postgresURL: PostgresURL? { url.flatMap(PostgresURL.init) }

    public func openKeyStore() throws -> any KeyStore {
        if let postgresURL { return try PostgresKeyDatabase(url: postgresURL) }
        return try KeyDatabase(path: path, durability: durability)
    }

    public func openCatalogue() throws -> any Catalogue {
        if let postgresURL { return try PostgresCatalogue(url: postgresURL) }
        return try CatalogueFile(path: path, durability: durability)
    }
}

/// The `api_keys` table in PostgreSQL (`database.url`): the same rows as `KeyDatabase`'s, for
/// `filmd keys` and the server's `PostgresKeyRefresher`. Every change but `last_used_at`
/// notifies the listening nodes (the trigger of `PostgresMigrations`).
public final class PostgresKeyDatabase: KeyStore {
    let connection: PGBlockingConnection
    private static let columns = "id, name, role, secret_hash, created_at, expires_at, revoked_at, last_used_at"

    /// Connects and brings the schema up to date.
    public init(url: PostgresURL) throws {
        connection = try PGBlockingConnection(url: url)
        try PostgresMigrations.migrate(connection)
    }

    public func close() { connection.close() }

    public func insert(_ key: APIKey) throws -> Bool {
        do throws(PGError) {
            try connection.execute("""
                INSERT INTO api_keys (id, name, role, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
                """, [key.id, key.name, key.role.rawValue, PGParameters.bytea(key.digest.bytes),
                      String(key.createdAt), key.expiresAt.map(String.init)])
            return true
        } catch {
            guard error.isUniqueViolation else { throw error }
            return false
        }
    }

    public func all() throws -> (keys: [APIKey], unreadable: Int) {
        let result = try connection.execute("SELECT \(Self.columns) FROM api_keys ORDER BY created_at, id")
        return APIKey.readable((0..<result.count).map { Self.key(result, $0) })
    }

    public func revoke(id: String, now: Int64) throws -> APIKey? {
        let result = try connection.execute("""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING \(Self.columns)
            """, [id, String(now)])
        return result.count == 0 ? nil : Self.key(result, 0)
    }

    /// One statement for the whole batch, rows in id order so that nodes lock them alike.
    public func recordUses(_ uses: [String: Int64]) throws {
        guard !uses.isEmpty else { return }
        let ids = uses.keys.sorted()
        try connection.execute("""
            UPDATE api_keys AS k SET last_used_at = greatest(coalesce(k.last_used_at, 0), u.at)
            FROM unnest($1::text[], $2::bigint[]) AS u(id, at) WHERE k.id = u.id
            """, [PGParameters.array(ids), PGParameters.array(ids.map { uses[$0].map(String.init) })])
    }

    private static func key(_ result: PGResult, _ row: Int) -> APIKey? {
        APIKey(stored: result.text(row, 0), name: result.text(row, 1), role: result.text(row, 2), digest: result.bytes(row, 3),
               createdAt: result.int64(row, 4), expiresAt: result.optionalInt64(row, 5),
               revokedAt: result.optionalInt64(row, 6), lastUsedAt: result.optionalInt64(row, 7))
    }
}

/// The `api_keys` table in the SQLite file: what `filmd keys` changes and what the server
/// reloads. Synchronous, on one connection: the command-line tools call it directly, the server
/// from `KeyRefresher`.
public final class KeyDatabase: KeyStore {
    private let connection: SQLiteConnection
    private let insert, selectAll, revoke, changes, touch: SQLiteStatement

    public init(path: String, durability: Durability) throws {
        connection = try SQLiteConnection.database(path: path, durability: durability)
        insert = try connection.prepare("""
            INSERT INTO api_keys (id, name, role, secret_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """)
        selectAll = try connection.prepare("""
            SELECT id, name, role, secret_hash, created_at, expires_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at, id
            """)
        revoke = try connection.prepare("""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1
            RETURNING id, name, role, secret_hash, created_at, expires_at, revoked_at, last_used_at
            """)
        changes = try connection.prepare("SELECT version FROM api_key_changes WHERE id = 1")
        touch = try connection.prepare("UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE id = ?1")
    }

    /// Closes the connection; the database is not used after this.
    public func close() { connection.close() }

    public func insert(_ key: APIKey) throws -> Bool {
        do throws(SQLiteError) {
            try insert.bind(.text(key.id), .text(key.name), .text(key.role.rawValue), .blob(key.digest.bytes),
                            .integer(key.createdAt), key.expiresAt.map(SQLiteValue.integer) ?? .null).run()
            return true
        } catch {
            guard error.code == .constraintPrimaryKey else { throw error }
            return false
        }
    }

    public func all() throws -> (keys: [APIKey], unreadable: Int) {
        try selectAll.bind()
        var rows: [APIKey?] = []
        while try selectAll.step() { rows.append(Self.key(from: selectAll)) }
        return APIKey.readable(rows)
    }

    public func revoke(id: String, now: Int64) throws -> APIKey? {
        try revoke.bind(.text(id), .integer(now))
        defer { revoke.reset() }
        guard try revoke.step() else { return nil }
        return Self.key(from: revoke)
    }

    /// Moves on whenever a key is created, changed or deleted (not when one is used).
    func version() throws -> Int64 {
        try changes.bind()
        defer { changes.reset() }
        return try changes.step() ? changes.int64(0) : 0
    }

    public func recordUses(_ uses: [String: Int64]) throws {
        try connection.transaction {
            for (id, time) in uses { try touch.bind(.text(id), .integer(time)).run() }
        }
    }

    private static func key(from row: SQLiteStatement) -> APIKey? {
        APIKey(stored: row.text(0), name: row.text(1), role: row.text(2), digest: row.blob(3), createdAt: row.int64(4),
               expiresAt: row.optionalInt64(5), revokedAt: row.optionalInt64(6), lastUsedAt: row.optionalInt64(7))
    }
}

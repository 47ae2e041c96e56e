/// The `api_keys` table: what `filmd keys` changes and what the server reloads. Synchronous,
/// on one connection: the command-line tools call it directly, the server from `KeyRefresher`.
public final class KeyDatabase {
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
    func close() { connection.close() }

    /// Creates a key with a fresh id and secret; the token is returned once and never stored.
    public func issue(name: String, role: Role, lifetime: Int64?, now: Int64) throws -> (key: APIKey, token: APIKeyToken) {
        for _ in 0..<3 {
            let token = APIKeyToken.generate()
            let key = APIKey(id: token.id, name: name, role: role, digest: SecretDigest(secret: token.secret),
                             createdAt: now, expiresAt: lifetime.map { now + $0 })
            do throws(SQLiteError) {
                try insert.bind(.text(key.id), .text(key.name), .text(role.rawValue), .blob(key.digest.bytes),
                                .integer(now), key.expiresAt.map(SQLiteValue.integer) ?? .null).run()
                return (key, token)
            } catch {
                guard error.code == .constraintPrimaryKey else { throw error }  // the id is taken: draw again
            }
        }
        throw SQLiteError(code: .constraintPrimaryKey, message: "no free key id after three draws")
    }

    /// Every key, oldest first, and how many rows could not be read as keys (a role or digest
    /// edited by hand); those are left out, so they authenticate nothing.
    public func all() throws -> (keys: [APIKey], unreadable: Int) {
        try selectAll.bind()
        var keys: [APIKey] = []
        var unreadable = 0
        while try selectAll.step() {
            if let key = Self.key(from: selectAll) { keys.append(key) } else { unreadable += 1 }
        }
        return (keys, unreadable)
    }

    /// Revokes `id` from `now` on (a key revoked before keeps its first revocation time);
    /// nil when there is no such key.
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

    /// Writes `last_used_at` of every key in `uses`, in one transaction.
    func recordUses(_ uses: [String: Int64]) throws {
        try connection.transaction {
            for (id, time) in uses { try touch.bind(.text(id), .integer(time)).run() }
        }
    }

    private static func key(from row: SQLiteStatement) -> APIKey? {
        guard let role = Role(rawValue: row.text(2)), let digest = SecretDigest(bytes: row.blob(3)) else { return nil }
        return APIKey(id: row.text(0), name: row.text(1), role: role, digest: digest, createdAt: row.int64(4),
                      expiresAt: row.optionalInt64(5), revokedAt: row.optionalInt64(6), lastUsedAt: row.optionalInt64(7))
    }
}

import Logging

/// Where the API keys are kept: the SQLite file (`KeyDatabase`) or PostgreSQL
/// (`PostgresKeyDatabase`). Synchronous, one connection, used from one thread at a time.
public protocol KeyStore: AnyObject {
    /// Stores a new key; false when its id is taken (the caller draws another).
    func insert(_ key: APIKey) throws -> Bool
    /// Every key, oldest first, and how many rows could not be read as keys (a role or digest
    /// edited by hand); those are left out, so they authenticate nothing.
    func all() throws -> (keys: [APIKey], unreadable: Int)
    /// Revokes `id` from `now` on (a key revoked before keeps its first revocation time);
    /// nil when there is no such key.
    func revoke(id: String, now: Int64) throws -> APIKey?
    /// Writes `last_used_at` of every key in `uses` (never moving one back), all at once.
    func recordUses(_ uses: [String: Int64]) throws
    /// Closes the connection; the store is not used after this.
    func close()
}

struct NoFreeKeyID: Error, CustomStringConvertible {
    var description: String { "no free key id after three draws" }
}

extension KeyStore {
    /// Creates a key with a fresh id and secret; the token is returned once and never stored.
    public func issue(name: String, role: Role, lifetime: Int64?, now: Int64) throws -> (key: APIKey, token: APIKeyToken) {
        for _ in 0..<3 {
            let token = APIKeyToken.generate()
            let key = APIKey(id: token.id, name: name, role: role, digest: SecretDigest(secret: token.secret),
                             createdAt: now, expiresAt: lifetime.map { now + $0 })
            if try insert(key) { return (key, token) }
        }
        throw NoFreeKeyID()
    }
}

extension KeyStore {
    /// Replaces the server's keys with the stored ones.
    func load(into directory: KeyDirectory, logger: Logger) throws {
        let (keys, unreadable) = try all()
        directory.replace(with: keys)
        if unreadable > 0 {
            logger.warning("api keys with an unknown role or a damaged digest are ignored",
                           metadata: ["auth.keys_ignored": .stringConvertible(unreadable)])
        }
    }

    /// Writes the queued `last_used_at` updates; when that fails they stay queued for the next try.
    func writeUses(from usage: KeyUsage, logger: Logger) {
        let uses = usage.drain()
        guard !uses.isEmpty else { return }
        do {
            try recordUses(uses)
        } catch {
            usage.restore(uses)
            logger.warning("api key last_used_at not written; retrying", metadata: ["error": "\(error)"])
        }
    }
}

extension APIKey {
    /// A key as a database row holds it; nil when its role or digest is not valid.
    init?(stored id: String, name: String, role: String, digest: [UInt8], createdAt: Int64,
          expiresAt: Int64?, revokedAt: Int64?, lastUsedAt: Int64?) {
        guard let role = Role(rawValue: role), let digest = SecretDigest(bytes: digest) else { return nil }
        self.init(id: id, name: name, role: role, digest: digest, createdAt: createdAt,
                  expiresAt: expiresAt, revokedAt: revokedAt, lastUsedAt: lastUsedAt)
    }

    /// The rows that are keys, and how many are not.
    static func readable(_ rows: [APIKey?]) -> (keys: [APIKey], unreadable: Int) {
        let keys = rows.compactMap { $0 }
        return (keys, rows.count - keys.count)
    }
}

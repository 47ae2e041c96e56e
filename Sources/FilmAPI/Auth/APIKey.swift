/// A stored API key: everything but the secret, whose digest stands in for it. Times are Unix
/// seconds.
public struct APIKey: Sendable {
    let id: String
    let name: String
    let role: Role
    let digest: SecretDigest
    let createdAt: Int64
    let expiresAt: Int64?
    let revokedAt: Int64?
    let lastUsedAt: Int64?

    init(id: String, name: String, role: Role, digest: SecretDigest, createdAt: Int64,
         expiresAt: Int64? = nil, revokedAt: Int64? = nil, lastUsedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.digest = digest
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    /// Why the key cannot be used at `now`, if it cannot: revoked, then expired.
    func unusable(at now: Int64) -> AuthFailure? {
        if let revokedAt, revokedAt <= now { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return nil
    }

    /// A key's name: 1 to 100 characters, no control characters.
    public static func isValidName(_ name: String) -> Bool {
        (1...100).contains(name.count) && !name.unicodeScalars.contains(where: \.isControl)
            && !name.trimmingWhitespace().isEmpty
    }
}

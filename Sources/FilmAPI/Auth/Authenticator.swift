/// Checks presented credentials against the key directory. Pure: the time is an argument.
struct Authenticator: Sendable {
    enum Verdict: Sendable {
        case anonymous
        case key(APIKey)
        case failed(AuthFailure)
    }

    let directory: KeyDirectory
    /// Secrets that matched lately, as tags: a key's later requests skip SHA-256.
    private let verified = VerifiedSecrets()
    /// Compared against when the id is unknown, so both paths hash and compare alike.
    private static let decoy = SecretDigest(secret: "filmd-decoy-secret")

    init(directory: KeyDirectory) {
        self.directory = directory
    }

    /// The secret is checked before anything else about the key, so only its holder learns
    /// that a key is revoked or expired (and the 401 says the same in every case anyway).
    func verify(_ credentials: Credentials, now: Int64) -> Verdict {
        switch credentials {
        case .none: return .anonymous
        case .malformed: return .failed(.malformed)
        case .token(let token):
            let key = directory.key(id: token.id)
            // An unknown id goes the same way against the decoy: a tag lookup, then SHA-256.
            guard matches(token, key?.digest ?? Self.decoy), let key else { return .failed(.unknown) }
            if let failure = key.unusable(at: now) { return .failed(failure) }
            return .key(key)
        }
    }

    private func matches(_ token: APIKeyToken, _ digest: SecretDigest) -> Bool {
        if verified.contains(id: token.id, secret: token.secret, digest: digest) { return true }
        guard digest.matches(secret: token.secret) else { return false }
        verified.insert(id: token.id, secret: token.secret, digest: digest)
        return true
    }
}

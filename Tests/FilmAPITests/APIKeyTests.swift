import Testing
@testable import FilmAPI

@Suite struct APIKeyTests {
    @Test func generatedKeysHaveThePrefixIdAndA190BitSecret() throws {
        let token = APIKeyToken.generate()
        #expect(token.text.hasPrefix("filmd_\(token.id)_"))
        #expect(token.id.utf8.count == 12 && token.secret.utf8.count == 32)
        #expect(token.text.utf8.allSatisfy { Base62.isDigit($0) || $0 == UInt8(ascii: "_") })
        #expect(try #require(APIKeyToken(token.text)) == token)
        #expect(APIKeyToken.generate() != token)
    }

    @Test func base62IsUniformEnough() {
        var generator = SystemRandomNumberGenerator()
        let text = Base62.random(count: 62_000, using: &generator)
        var counts: [Character: Int] = [:]
        for character in text { counts[character, default: 0] += 1 }
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (800...1200).contains($0) })
    }

    @Test(arguments: ["", "filmd_", "filmd_abc_def", "FILMD_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                      "filmd_AAAAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "filmd_AAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                      "filmd_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "filmd_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                      "filmd_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=", "filmd_AAAAAAAAAAAé_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
                      " filmd_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"])
    func malformedKeysDoNotParse(text: String) {
        #expect(APIKeyToken(text) == nil)
    }

    @Test func onlyTheSecretsSHA256IsKeptAndItIsComparedWhole() throws {
        let digest = SecretDigest(secret: "abc")
        // SHA-256("abc"), FIPS 180-2 test vector.
        #expect(digest.bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest.matches(SecretDigest(secret: "abc")))
        #expect(!digest.matches(SecretDigest(secret: "abd")))
        var lastByteDiffers = digest.bytes
        lastByteDiffers[31] ^= 1
        #expect(!digest.matches(try #require(SecretDigest(bytes: lastByteDiffers))))
        #expect(SecretDigest(bytes: Array(repeating: 0, count: 31)) == nil)
    }

    @Test func revokedThenExpiredAreUnusableFromTheirTime() {
        let key = APIKey(id: "A", name: "n", role: .reader, digest: SecretDigest(secret: "s"), createdAt: 0, expiresAt: 100, revokedAt: 50)
        #expect(key.unusable(at: 49) == nil)
        #expect(key.unusable(at: 50) == .revoked)
        #expect(key.unusable(at: 100) == .revoked)
        let expiring = APIKey(id: "B", name: "n", role: .reader, digest: SecretDigest(secret: "s"), createdAt: 0, expiresAt: 100)
        #expect(expiring.unusable(at: 99) == nil)
        #expect(expiring.unusable(at: 100) == .expired)
    }

    @Test(arguments: [("90d", Int64(90 * 86400)), ("12h", 43200), ("30m", 1800), ("2w", 1_209_600)])
    func lifetimes(text: String, seconds: Int64) {
        #expect(KeyLifetime.seconds(text) == seconds)
    }

    @Test(arguments: ["", "d", "0d", "-1d", "+1d", "1y", "1.5d", "3651d", "١d"])
    func badLifetimes(text: String) {
        #expect(KeyLifetime.seconds(text) == nil)
    }

    @Test func credentialsComeFromBearerOrXAPIKeyOnly() throws {
        let token = APIKeyToken.generate()
        func parse(_ fields: [(String, String)]) -> Credentials { Credentials(headers: HTTPHeaders(fields)) }
        #expect(parse([]) == .none)
        #expect(parse([("Authorization", "Bearer " + token.text)]) == .token(token))
        #expect(parse([("Authorization", "bEaReR   " + token.text)]) == .token(token))
        #expect(parse([("X-API-Key", token.text)]) == .token(token))
        #expect(parse([("X-API-Key", token.text), ("Authorization", "Bearer " + token.text)]) == .token(token))
        #expect(parse([("X-API-Key", token.text), ("X-API-Key", APIKeyToken.generate().text)]) == .malformed)
        #expect(parse([("Authorization", "Basic dXNlcjpwYXNz")]) == .malformed)
        #expect(parse([("Authorization", "Bearer")]) == .malformed)
        #expect(parse([("X-API-Key", "")]) == .malformed)
        #expect(parse([("X-API-Key", "filmd_nope")]) == .malformed)
        // A key anywhere else is not a credential at all.
        for name in ["Cookie", "X-Api-Token", "Proxy-Authorization", "Api-Key"] {
            #expect(parse([(name, token.text)]) == .none, "\(name)")
        }
        #expect(parse([("Cookie", "key=" + token.text), ("Proxy-Authorization", "Bearer " + token.text)]) == .none)
    }

    @Test func theAuthenticatorChecksTheSecretBeforeTheKeysState() {
        let good = APIKeyToken.generate(), revoked = APIKeyToken.generate()
        let directory = KeyDirectory([
            APIKey(id: good.id, name: "g", role: .editor, digest: SecretDigest(secret: good.secret), createdAt: 0, expiresAt: 1000),
            APIKey(id: revoked.id, name: "r", role: .admin, digest: SecretDigest(secret: revoked.secret), createdAt: 0, revokedAt: 10),
        ])
        let authenticator = Authenticator(directory: directory)
        guard case .key(let key) = authenticator.verify(.token(good), now: 5) else { Issue.record("not accepted"); return }
        #expect(key.role == .editor)
        #expect(authenticator.verify(.token(good), now: 1000).failure == .expired)
        #expect(authenticator.verify(.token(revoked), now: 10).failure == .revoked)
        #expect(authenticator.verify(.token(APIKeyToken(revoked.text.dropLast() + (revoked.text.last == "A" ? "B" : "A"))!), now: 10).failure == .unknown)
        #expect(authenticator.verify(.token(APIKeyToken.generate()), now: 0).failure == .unknown)
        #expect(authenticator.verify(.malformed, now: 0).failure == .malformed)
    }

    @Test func aVerifiedSecretIsRememberedOnlyForItsOwnDigest() {
        let token = APIKeyToken.generate()
        let directory = KeyDirectory([APIKey(id: token.id, name: "k", role: .reader, digest: SecretDigest(secret: token.secret), createdAt: 0)])
        let authenticator = Authenticator(directory: directory)
        #expect(authenticator.verify(.token(token), now: 1).failure == nil)
        #expect(authenticator.verify(.token(token), now: 1).failure == nil, "again, from the remembered tag")
        let wrong = APIKeyToken(token.text.dropLast() + (token.text.last == "A" ? "B" : "A"))!
        #expect(authenticator.verify(.token(wrong), now: 1).failure == .unknown)
        // The same id with another secret in the database: the remembered secret no longer works.
        let other = APIKeyToken.generate()
        directory.replace(with: [APIKey(id: token.id, name: "k", role: .reader, digest: SecretDigest(secret: other.secret), createdAt: 0)])
        #expect(authenticator.verify(.token(token), now: 1).failure == .unknown)
        // Revoked after being remembered: refused all the same.
        directory.replace(with: [APIKey(id: token.id, name: "k", role: .reader, digest: SecretDigest(secret: token.secret), createdAt: 0, revokedAt: 1)])
        #expect(authenticator.verify(.token(token), now: 2).failure == .revoked)
    }
}

extension Authenticator.Verdict {
    var failure: AuthFailure? {
        if case .failed(let reason) = self { return reason }
        return nil
    }
}

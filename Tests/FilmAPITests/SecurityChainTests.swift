import Testing
@testable import FilmAPI

/// Authentication, roles and rate limits through the whole chain, in-process.
@Suite struct SecurityChainTests {
    @Test func everyBadKeyGetsTheSame401EvenOnAPublicRoute() async throws {
        let secured = try TestApp()
        let now = secured.clock.unixNow
        let expired = secured.key(.admin, expiresAt: now - 1)
        let revoked = secured.key(.admin, revokedAt: now - 1)
        let unknown = APIKeyToken.generate().text
        var wrongSecret = secured.key(.admin)
        wrongSecret = String(wrongSecret.dropLast()) + (wrongSecret.hasSuffix("x") ? "y" : "x")
        let sent: [(String, String)] = [("X-API-Key", expired), ("X-API-Key", revoked), ("Authorization", "Bearer " + unknown),
                                        ("X-API-Key", wrongSecret), ("X-API-Key", "filmd_short"), ("Authorization", "Basic Zm9vOmJhcg==")]
        var bodies = Set<String>()
        for header in sent {
            let response = await secured.send(.GET, "/", headers: [header])
            #expect(response.status == .unauthorized)
            #expect(response.headers["WWW-Authenticate"] == #"Bearer realm="filmd", error="invalid_token""#)
            #expect(response.headers["Content-Type"] == "application/problem+json")
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            #expect(response.headers["RateLimit"] != nil)
            bodies.insert(response.problemWithoutRequestID)
        }
        #expect(bodies.count == 1)
    }

    @Test func noKeyWhereTheAnonymousRoleIsNotEnoughIs401WithoutAnError() async throws {
        let secured = try TestApp()
        let response = await secured.send(.POST, "/add_film", body: #"{"name":"Up","studio":"Pixar"}"#)
        #expect(response.status == .unauthorized)
        #expect(response.headers["WWW-Authenticate"] == #"Bearer realm="filmd""#)
        let bad = await secured.send(.POST, "/add_film", headers: [("X-API-Key", "nope")], body: #"{"name":"Up","studio":"Pixar"}"#)
        #expect(response.problemWithoutRequestID == bad.problemWithoutRequestID)
    }

    @Test func aValidKeyWithoutTheRoleIs403() async throws {
        let secured = try TestApp()
        let reader = secured.key(.reader), editor = secured.key(.editor)
        #expect(await secured.send(.POST, "/films", headers: [("X-API-Key", reader)], body: #"{"name":"Up","studio":"Pixar"}"#).status == .forbidden)
        let created = await secured.send(.POST, "/films", headers: [("Authorization", "Bearer " + editor)], body: #"{"name":"Up","studio":"Pixar"}"#)
        #expect(created.status == .created)
        #expect(await secured.send(.DELETE, "/films/1", headers: [("X-API-Key", editor)]).status == .forbidden)
        #expect(await secured.send(.POST, "/films/1/like", headers: [("X-API-Key", reader)]).status == .forbidden)
        #expect(await secured.send(.GET, "/?like=1", headers: [("X-API-Key", reader)]).status == .forbidden)
        #expect(await secured.send(.GET, "/", headers: [("X-API-Key", reader)]).status == .ok)
        #expect(await secured.send(.DELETE, "/films/1", headers: [("X-API-Key", secured.key(.admin))]).status == .noContent)
    }

    @Test func anonymousVotersMayVoteButNotAdd() async throws {
        let secured = try TestApp()
        _ = await secured.send(.POST, "/films", headers: [("X-API-Key", secured.key(.editor))], body: #"{"name":"Up","studio":"Pixar"}"#)
        #expect(await secured.send(.GET, "/?like=1").status == .ok)
        #expect(await secured.send(.POST, "/films/1/dislike").status == .ok)
        #expect(await secured.send(.POST, "/add_film", body: #"{"name":"Up","studio":"Pixar"}"#).status == .unauthorized)
        #expect(try await secured.store.film(id: 1).ready().map { ($0.likes, $0.dislikes) } ?? (0, 0) == (1, 1))
    }

    @Test func anonymousReadersMayReadButNotVote() async throws {
        let secured = try TestApp { $0.auth.anonymousRole = "reader" }
        _ = await secured.send(.POST, "/films", headers: [("X-API-Key", secured.key(.editor))], body: #"{"name":"Up","studio":"Pixar"}"#)
        #expect(await secured.send(.GET, "/").status == .ok)
        #expect(await secured.send(.GET, "/?dislike=1").status == .unauthorized)
        #expect(try await secured.store.film(id: 1).ready()?.dislikes == 0)
    }

    @Test func anonymousNoneMayDoNothingButHealthChecks() async throws {
        let secured = try TestApp { $0.auth.anonymousRole = "none" }
        #expect(await secured.send(.GET, "/films").status == .unauthorized)
        #expect(await secured.send(.GET, "/healthz").status == .ok)
        // Health checks ignore keys, bad ones included.
        #expect(await secured.send(.GET, "/healthz", headers: [("X-API-Key", "bad")]).status == .ok)
        #expect(await secured.send(.GET, "/films", headers: [("X-API-Key", secured.key(.reader))]).status == .ok)
    }

    @Test func spentAuthFailureBudgetIs429EvenForACorrectKey() async throws {
        let secured = try TestApp { $0.rateLimits.authFailures = "2 per minute" }
        let good = secured.key(.reader)
        #expect(await secured.send(.GET, "/", headers: [("X-API-Key", "wrong")]).status == .unauthorized)
        #expect(await secured.send(.GET, "/", headers: [("X-API-Key", "wrong")]).status == .unauthorized)
        let limited = await secured.send(.GET, "/", headers: [("X-API-Key", good)])
        #expect(limited.status == .tooManyRequests)
        #expect(limited.headers["Retry-After"] == "30")
        #expect(limited.headers["RateLimit-Policy"] == #""auth-minute";q=2;w=60"#)
        // Another client is untouched, and anonymous requests of this one go on.
        #expect(await secured.send(.GET, "/", headers: [("X-API-Key", good)], peer: "192.0.2.11").status != .tooManyRequests)
        #expect(await secured.send(.GET, "/films").status == .ok)
        secured.clock.advance(seconds: 30)
        #expect(await secured.send(.GET, "/films", headers: [("X-API-Key", good)]).status == .ok)
    }

    @Test func limitedResponsesCarryTheHeadersAndExemptOnesDoNot() async throws {
        let secured = try TestApp {
            $0.rateLimits.default = "3 per hour"
            $0.rateLimits.routes = ["GET /films": "2 per second"]
        }
        let ok = await secured.send(.GET, "/films")
        #expect(ok.headers["RateLimit-Policy"] == #""hour";q=3;w=3600, "second";q=2;w=1"#)
        #expect(ok.headers["RateLimit"] == #""second";r=1;t=1"#)
        let notFound = await secured.send(.GET, "/films/9")
        #expect(notFound.status == .notFound && notFound.headers["RateLimit"] == #""hour";r=2;t=1200"#)
        #expect(await secured.send(.GET, "/films").status == .ok)
        let limited = await secured.send(.GET, "/films")
        #expect(limited.status == .tooManyRequests)
        #expect(limited.headers["Retry-After"] == "1")
        #expect(limited.headers["Content-Type"] == "application/problem+json")
        #expect(limited.headers["X-Frame-Options"] == "DENY")
        let health = await secured.send(.GET, "/healthz")
        #expect(health.status == .ok && health.headers["RateLimit"] == nil && health.headers["RateLimit-Policy"] == nil)
    }

    @Test func keyedByAPIKeyCountsKeysApartBehindOneAddress() async throws {
        let secured = try TestApp {
            $0.rateLimits.default = "1 per hour"
            $0.rateLimits.keyBy = "api_key"
        }
        let first = secured.key(.reader), second = secured.key(.reader)
        #expect(await secured.send(.GET, "/films", headers: [("X-API-Key", first)]).status == .ok)
        #expect(await secured.send(.GET, "/films", headers: [("X-API-Key", first)]).status == .tooManyRequests)
        #expect(await secured.send(.GET, "/films", headers: [("X-API-Key", second)]).status == .ok)
        #expect(await secured.send(.GET, "/films").status == .ok)  // anonymous: by address
        #expect(await secured.send(.GET, "/films").status == .tooManyRequests)
    }

    @Test func forwardedAddressesCountOnlyFromTrustedProxies() async throws {
        let secured = try TestApp {
            $0.rateLimits.default = "1 per hour"
            $0.server.trustedProxies = ["127.0.0.1"]
        }
        let viaProxy: (String) async -> HTTPStatus = { address in
            await secured.send(.GET, "/films", headers: [("X-Forwarded-For", address)], peer: "127.0.0.1").status
        }
        #expect(await viaProxy("203.0.113.1") == .ok)
        #expect(await viaProxy("203.0.113.2") == .ok)
        #expect(await viaProxy("203.0.113.1") == .tooManyRequests)
        // An untrusted peer's X-Forwarded-For changes nothing: same peer, same bucket.
        let direct: (String) async -> HTTPStatus = { address in
            await secured.send(.GET, "/films", headers: [("X-Forwarded-For", address)], peer: "198.51.100.5").status
        }
        #expect(await direct("203.0.113.3") == .ok)
        #expect(await direct("203.0.113.4") == .tooManyRequests)
        let log = try secured.log()
        #expect(log.contains(#""client.address":"203.0.113.2","network.peer.address":"127.0.0.1""#))
        #expect(log.contains(#""client.address":"198.51.100.5","network.peer.address":"198.51.100.5""#))
    }

    @Test func keysNeverReachTheLogAndUsesAreQueuedOncePerMinute() async throws {
        let secured = try TestApp()
        let key = secured.key(.editor)
        let id = try #require(APIKeyToken(key)).id
        _ = await secured.send(.GET, "/films", headers: [("X-API-Key", key)])
        _ = await secured.send(.GET, "/films", headers: [("Authorization", "Bearer " + key)])
        _ = await secured.send(.GET, "/films", headers: [("X-API-Key", key + "x")])
        #expect(secured.usage.drain() == [id: secured.clock.unixNow])
        secured.clock.advance(seconds: 30)
        _ = await secured.send(.GET, "/films", headers: [("X-API-Key", key)])
        #expect(secured.usage.drain().isEmpty)
        secured.clock.advance(seconds: 31)
        _ = await secured.send(.GET, "/films", headers: [("X-API-Key", key)])
        #expect(secured.usage.drain() == [id: secured.clock.unixNow])
        let log = try secured.log()
        #expect(log.contains(#""auth.key_id":"\#(id)""#))
        #expect(log.contains(#""security.event":"auth_failure""#))
        #expect(!log.contains(String(key.dropFirst(19))))
    }
}

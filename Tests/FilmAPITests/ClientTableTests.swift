import Testing
@testable import FilmAPI

/// The bounded table: at most `max_clients` rows, and eviction that never hands an over-limit
/// client a fresh allowance.
@Suite struct ClientTableTests {
    static let second: Int64 = 1_000_000_000

    static func client(_ n: Int) -> ClientKey {
        ClientKey(address: IPAddress("10.\(n >> 16 & 255).\(n >> 8 & 255).\(n & 255)")!, ipv6Prefix: 64)
    }

    static func limiter(max: Int, limit: String) -> RateLimiter {
        var settings = RateLimitSettings()
        settings.default = limit
        settings.routes = [:]
        settings.maxClients = max
        return RateLimiter(settings: settings, routes: [(.GET, "/")])
    }

    @Test func neverTracksMoreThanTheCap() {
        let limiter = Self.limiter(max: 100, limit: "10 per second")
        for n in 0..<5000 {
            _ = limiter.check(Self.client(n), method: .GET, route: "/", now: Int64(n) * Self.second / 1000)
            #expect(limiter.trackedClients <= 100)
        }
        #expect(limiter.trackedClients == 100)
    }

    @Test func evictionNeverResetsAnOverLimitClient() {
        let limiter = Self.limiter(max: 10, limit: "2 per hour")
        let greedy = Self.client(0)
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 0).decision == .allowed)
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 0).decision == .allowed)
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 0).decision == .rejected)
        // A flood of new clients within the hour: nobody is replenished, so nobody is evicted.
        for n in 1...10_000 {
            _ = limiter.check(Self.client(n), method: .GET, route: "/", now: Int64(n) * Self.second / 10)
        }
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 1001 * Self.second).decision == .rejected)
        #expect(limiter.trackedClients == 10)
    }

    @Test func aTableFullOfOneShotClientsStillAdmitsNewcomers() {
        let limiter = Self.limiter(max: 10, limit: "5 per hour")
        let greedy = Self.client(0)
        let spent = (0..<6).map { _ in limiter.check(greedy, method: .GET, route: "/", now: 0).decision }
        #expect(spent == [.allowed, .allowed, .allowed, .allowed, .allowed, .rejected])
        // The attacker's one-shot clients fill the table, then newcomers keep arriving while the
        // greedy client is over its limit (one request comes back every 720 s).
        let newcomers = (1...1000).map { n in limiter.check(Self.client(n), method: .GET, route: "/", now: Int64(n) * Self.second / 2) }
        #expect(newcomers.allSatisfy { $0.decision == .allowed && !$0.overflowed })
        #expect(limiter.trackedClients == 10)
        // Over its limit, the greedy client was never the one replaced ...
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 600 * Self.second).decision == .rejected)
        // ... nor later, with one request back (a fresh row would have five).
        let refilled = limiter.check(greedy, method: .GET, route: "/", now: 800 * Self.second)
        #expect(refilled.decision == .allowed && refilled.remaining(of: "hour") == 0)
    }

    @Test func theNewcomerReplacesTheClientWithTheMostLeft() {
        let limiter = Self.limiter(max: 3, limit: "10 per hour")
        let (light, heavy, medium) = (Self.client(1), Self.client(2), Self.client(3))
        for (client, uses) in [(light, 1), (heavy, 6), (medium, 3)] {
            for _ in 0..<uses { _ = limiter.check(client, method: .GET, route: "/", now: 0) }
        }
        let newcomer = limiter.check(Self.client(4), method: .GET, route: "/", now: Self.second)
        #expect(!newcomer.overflowed && newcomer.remaining(of: "hour") == 9)
        // The light client was replaced; the others kept what they had spent.
        #expect(limiter.check(heavy, method: .GET, route: "/", now: Self.second).remaining(of: "hour") == 3)
        #expect(limiter.check(medium, method: .GET, route: "/", now: Self.second).remaining(of: "hour") == 6)
        // Back again, the light client takes the newcomer's place (one spent, the most left) and starts afresh.
        #expect(limiter.check(light, method: .GET, route: "/", now: Self.second).remaining(of: "hour") == 9)
        #expect(limiter.check(heavy, method: .GET, route: "/", now: Self.second).remaining(of: "hour") == 2)
        #expect(limiter.trackedClients == 3)
    }

    @Test func newcomersShareHashedOverflowRowsOnlyWhenEveryTrackedClientIsOverItsLimit() {
        let limiter = Self.limiter(max: 2, limit: "3 per hour")
        for client in [Self.client(1), Self.client(2)] {
            for _ in 0..<3 { _ = limiter.check(client, method: .GET, route: "/", now: 0) }
        }
        // One newcomer hammers: it spends its overflow row, not everybody's.
        let hammering = (0..<10).map { _ in limiter.check(Self.client(3), method: .GET, route: "/", now: 0) }
        #expect(hammering.allSatisfy { $0.overflowed })
        #expect(hammering.map(\.decision) == [.allowed, .allowed, .allowed] + Array(repeating: .rejected, count: 7))
        // The rows are chosen by a seeded hash: of 200 others, only those that land on the hammering
        // client's row (about one) or on a row three others already used are refused.
        let others = (4..<204).map { limiter.check(Self.client($0), method: .GET, route: "/", now: 0) }
        #expect(others.allSatisfy { $0.overflowed })
        #expect(others.count { $0.decision == .allowed } >= 190)
        #expect(limiter.trackedClients == 2)
        #expect(limiter.takeOverflowNotice(now: 0))
        #expect(!limiter.takeOverflowNotice(now: 59 * Self.second))
        #expect(limiter.takeOverflowNotice(now: 61 * Self.second))
        // As soon as one tracked client is within its allowance again, a newcomer takes its place.
        let later = limiter.check(Self.client(500), method: .GET, route: "/", now: 21 * 60 * Self.second)
        #expect(!later.overflowed && later.decision == .allowed)
    }

    @Test func failedAuthenticationsOfNewcomersCountInAFullTable() {
        var settings = RateLimitSettings()
        settings.authFailures = "2 per hour"
        settings.maxClients = 3
        let limiter = RateLimiter(settings: settings, routes: [(.GET, "/")])
        let guesser = Self.client(0)
        limiter.recordAuthFailure(guesser, now: 0)
        limiter.recordAuthFailure(guesser, now: 0)
        #expect(limiter.authAttempt(guesser, now: 0).decision == .rejected)
        for n in 1...2 { limiter.recordAuthFailure(Self.client(n), now: 0) }
        // The table is full of clients within their budget: a newcomer's failures are counted in a row of its own.
        let newcomer = Self.client(100)
        limiter.recordAuthFailure(newcomer, now: Self.second)
        limiter.recordAuthFailure(newcomer, now: Self.second)
        #expect(limiter.authAttempt(newcomer, now: Self.second).decision == .rejected)
        #expect(limiter.authAttempt(guesser, now: Self.second).decision == .rejected)
        #expect(limiter.trackedAuthFailureClients == 3)
    }

    @Test func failedAuthenticationsShareHashedRowsWhenEveryTrackedClientIsSpent() {
        var settings = RateLimitSettings()
        settings.authFailures = "1 per hour"
        settings.maxClients = 1
        let limiter = RateLimiter(settings: settings, routes: [(.GET, "/")])
        limiter.recordAuthFailure(Self.client(0), now: 0)
        // Untracked newcomers' failures still count, in the row their key hashes to.
        limiter.recordAuthFailure(Self.client(1), now: 0)
        #expect(limiter.authAttempt(Self.client(1), now: 0).decision == .rejected)
        #expect((2..<102).count { limiter.authAttempt(Self.client($0), now: 0).decision == .allowed } >= 95)
    }

    @Test func replenishedClientsMakeRoomAndComeBackFresh() {
        let limiter = Self.limiter(max: 2, limit: "1 per second")
        _ = limiter.check(Self.client(1), method: .GET, route: "/", now: 0)
        _ = limiter.check(Self.client(2), method: .GET, route: "/", now: 0)
        // Both are replenished a second later: a newcomer takes the least recently active row.
        let newcomer = limiter.check(Self.client(3), method: .GET, route: "/", now: 2 * Self.second)
        #expect(!newcomer.overflowed && newcomer.decision == .allowed)
        #expect(limiter.trackedClients == 2)
        let returning = limiter.check(Self.client(1), method: .GET, route: "/", now: 2 * Self.second)
        #expect(!returning.overflowed && returning.decision == .allowed)
    }

    @Test func anOverLimitClientAtTheOldEndDoesNotBlockEviction() {
        let limiter = Self.limiter(max: 3, limit: "5 per minute")
        let greedy = Self.client(1)
        for _ in 0..<5 { _ = limiter.check(greedy, method: .GET, route: "/", now: 0) }  // spent until 60 s
        _ = limiter.check(Self.client(2), method: .GET, route: "/", now: 10 * Self.second)  // replenished at 22 s
        _ = limiter.check(Self.client(3), method: .GET, route: "/", now: 10 * Self.second)
        // At 30 s the least recently active (greedy) is not replenished: it is kept, client 2 goes.
        let fourth = limiter.check(Self.client(4), method: .GET, route: "/", now: 30 * Self.second)
        #expect(!fourth.overflowed)
        #expect(limiter.check(greedy, method: .GET, route: "/", now: 30 * Self.second).remaining(of: "minute") == 1)  // fresh would be 4
        #expect(limiter.trackedClients == 3)
    }

    @Test func memoryPerClientIsTheStatedRow() {
        // A 32-byte slot, 8 bytes per counter of the row and a 16-byte eviction candidate entry.
        var settings = RateLimitSettings()
        settings.default = "200 per day; 50 per hour"
        settings.routes = ["GET /": "1 per second"]
        settings.application = "1000 per day"
        let layout = RateLimitLayout(settings: settings, routes: [(.GET, "/"), (.GET, "/films")])
        #expect(layout.width == 2 * 3 + 1 + 1)  // "/", "/films" and unmatched paths; GET /; the application
        #expect(MemoryLayout<ClientTable.Slot>.stride == 32)
        // 32768 buckets of 20 bytes for 20 000 clients: 33 bytes of index each.
        #expect(MemoryLayout<ClientTable.Candidate>.stride == 16)
        #expect(ClientTable.bytesPerClient(width: 8, capacity: 20_000) == 32 + 64 + 33 + 16)
        #expect(ClientTable.bytesPerClient(width: 8, capacity: 100_000) == 32 + 64 + 53 + 16)
    }

    @Test func exemptRoutesGetNoCounters() {
        let limited = Routes.limited.map { "\($0.method.rawValue) \($0.template)" }
        #expect(limited.contains("GET /films/{id}") && limited.contains("GET /") && limited.contains("HEAD /add_film"))
        #expect(!limited.contains("GET /healthz") && !limited.contains("GET /readyz") && !limited.contains("GET /metrics"))
    }
}

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

    @Test func newcomersShareTheOverflowRowWhenNobodyCanBeEvicted() {
        let limiter = Self.limiter(max: 2, limit: "3 per hour")
        _ = limiter.check(Self.client(1), method: .GET, route: "/", now: 0)
        _ = limiter.check(Self.client(2), method: .GET, route: "/", now: 0)
        let decisions = (3...8).map { limiter.check(Self.client($0), method: .GET, route: "/", now: 0) }
        #expect(decisions.allSatisfy { $0.overflowed })
        #expect(decisions.map(\.decision) == [.allowed, .allowed, .allowed, .rejected, .rejected, .rejected])
        #expect(limiter.takeOverflowNotice(now: 0))
        #expect(!limiter.takeOverflowNotice(now: 59 * Self.second))
        #expect(limiter.takeOverflowNotice(now: 61 * Self.second))
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
        // A 32-byte slot and 8 bytes per counter of the row.
        var settings = RateLimitSettings()
        settings.default = "200 per day; 50 per hour"
        settings.routes = ["GET /": "1 per second"]
        settings.application = "1000 per day"
        let layout = RateLimitLayout(settings: settings, routes: [(.GET, "/"), (.GET, "/films")])
        #expect(layout.width == 2 * 3 + 1 + 1)  // "/", "/films" and unmatched paths; GET /; the application
        #expect(MemoryLayout<ClientTable.Slot>.stride == 32)
        // 32768 buckets of 20 bytes for 20 000 clients: 33 bytes of index each.
        #expect(ClientTable.bytesPerClient(width: 8, capacity: 20_000) == 32 + 64 + 33)
        #expect(ClientTable.bytesPerClient(width: 8, capacity: 100_000) == 32 + 64 + 53)
    }

    @Test func exemptRoutesGetNoCounters() {
        let limited = SecurityChain.limitedRoutes(of: RouteTable.router()).map { "\($0.method.rawValue) \($0.template)" }
        #expect(limited.contains("GET /films/{id}") && limited.contains("GET /") && limited.contains("HEAD /add_film"))
        #expect(!limited.contains("GET /healthz") && !limited.contains("GET /readyz") && !limited.contains("GET /metrics"))
    }
}

import Testing
@testable import FilmAPI

@Suite struct ConnectionQuotaTests {
    let attacker = IPAddress("203.0.113.7")!
    let other = IPAddress("203.0.113.8")!

    @Test func aClientHoldsAtMostItsCapAndOthersAreUnaffected() {
        let quota = ConnectionQuota(perClient: 3, maxConnections: 100, trustedProxies: [])
        #expect((0..<3).map { _ in quota.admit(attacker) } == [.counted, .counted, .counted])
        #expect(quota.admit(attacker) == .refused)
        #expect(quota.admit(other) == .counted)
        #expect(quota.refused == 1)
        quota.release(attacker)
        #expect(quota.admit(attacker) == .counted)
    }

    @Test func oneClientNeverHoldsMoreThanHalfTheGlobalCap() {
        #expect(ConnectionQuota.limit(perClient: 64, maxConnections: 32) == 16)
        #expect(ConnectionQuota.limit(perClient: 8, maxConnections: 32) == 8)
        #expect(ConnectionQuota.limit(perClient: 64, maxConnections: 1) == 1)
        // And the quota holds a client to it: 16 of a global 32, though 64 were configured.
        let quota = ConnectionQuota(perClient: 64, maxConnections: 32, trustedProxies: [])
        #expect((0..<16).allSatisfy { _ in quota.admit(attacker) == .counted })
        #expect(quota.admit(attacker) == .refused)
        quota.update(perClient: 0, maxConnections: 20, trustedProxies: [])  // no per-client cap: still half
        #expect(quota.openConnections(of: attacker) == 16)
        #expect(quota.admit(other) == .counted)
        #expect(quota.admit(attacker) == .refused)
    }

    @Test func anIPv6ClientIsCountedByItsSlash64() {
        let quota = ConnectionQuota(perClient: 2, maxConnections: 100, trustedProxies: [])
        #expect(quota.admit(IPAddress("2001:db8:1:2::1")!) == .counted)
        #expect(quota.admit(IPAddress("2001:db8:1:2:ffff::9")!) == .counted)
        #expect(quota.admit(IPAddress("2001:db8:1:2::77")!) == .refused)
        #expect(quota.admit(IPAddress("2001:db8:1:3::1")!) == .counted)
    }

    @Test func trustedProxiesAreNotCounted() {
        let quota = ConnectionQuota(perClient: 1, maxConnections: 100, trustedProxies: ["10.0.0.0/8"])
        let proxy = IPAddress("10.1.2.3")!
        #expect((0..<5).map { _ in quota.admit(proxy) } == Array(repeating: .uncounted, count: 5))
        #expect(quota.openConnections(of: proxy) == 0)
    }

    @Test func aReloadKeepsTheOpenConnectionsCounted() {
        let quota = ConnectionQuota(perClient: 2, maxConnections: 100, trustedProxies: [])
        _ = quota.admit(attacker)
        _ = quota.admit(attacker)
        quota.update(perClient: 3, maxConnections: 100, trustedProxies: [])
        #expect(quota.admit(attacker) == .counted)
        #expect(quota.admit(attacker) == .refused)
        quota.release(attacker)
        quota.release(attacker)
        quota.release(attacker)
        quota.release(attacker)  // one too many: never below zero
        #expect(quota.openConnections(of: attacker) == 0)
    }
}

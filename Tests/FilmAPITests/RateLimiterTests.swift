import Testing
@testable import FilmAPI

/// The limiter with an injected clock: `now` is an argument, nothing sleeps.
@Suite struct RateLimiterTests {
    static let second: Int64 = 1_000_000_000
    static let routes: [(method: HTTPMethod, template: String)] = [(.GET, "/"), (.POST, "/add_film"), (.GET, "/films")]
    let alice = ClientKey(address: IPAddress("192.0.2.1")!, ipv6Prefix: 64)
    let bob = ClientKey(address: IPAddress("192.0.2.2")!, ipv6Prefix: 64)

    static func limiter(_ change: (inout RateLimitSettings) -> Void = { _ in }) -> RateLimiter {
        var settings = RateLimitSettings()
        settings.default = ""
        settings.routes = [:]
        change(&settings)
        return RateLimiter(settings: settings, routes: routes)
    }

    func hits(_ limiter: RateLimiter, _ client: ClientKey, _ count: Int, route: String = "/", at now: Int64) -> [RateLimitResult.Decision] {
        (0..<count).map { _ in limiter.check(client, method: .GET, route: route, now: now).decision }
    }

    @Test func quotaPerWindowThenRefillsOneIntervalAtATime() {
        let limiter = Self.limiter { $0.default = "3 per minute" }
        #expect(hits(limiter, alice, 4, at: 0) == [.allowed, .allowed, .allowed, .rejected])
        // One request's worth (20 s) comes back after 20 s, not the whole quota.
        #expect(hits(limiter, alice, 2, at: 20 * Self.second) == [.allowed, .rejected])
        // A full window later the whole quota is back.
        #expect(hits(limiter, alice, 4, at: 80 * Self.second) == [.allowed, .allowed, .allowed, .rejected])
    }

    @Test func worstCaseIsTwiceTheQuotaMinusOneInAnyWindow() {
        // GCRA's documented overshoot: q at once, then one per interval, so 2q - 1 within w.
        let limiter = Self.limiter { $0.default = "10 per 10 seconds" }
        var admitted = 0
        for tenth in 0..<100 where limiter.check(alice, method: .GET, route: "/", now: Int64(tenth) * Self.second / 10).decision == .allowed {
            admitted += 1
        }
        #expect(admitted == 19)
    }

    @Test func everyApplicablePolicyIsCheckedAndARejectionTakesNothing() {
        let limiter = Self.limiter {
            $0.default = "5 per hour"
            $0.routes = ["GET /": "1 per second"]
        }
        #expect(hits(limiter, alice, 2, at: 0) == [.allowed, .rejected])  // the route's second
        let states = limiter.check(alice, method: .GET, route: "/", now: 0).states
        // The rejected requests took nothing from the hour.
        #expect(states.first { $0.policy.name == "hour" }?.remaining == 4)
        #expect(hits(limiter, alice, 4, at: 10 * Self.second) == [.allowed, .rejected, .rejected, .rejected])
        #expect(hits(limiter, alice, 1, at: 12 * Self.second) == [.allowed])
        #expect(hits(limiter, alice, 1, at: 14 * Self.second) == [.allowed])
        #expect(hits(limiter, alice, 1, at: 16 * Self.second) == [.allowed])
        #expect(hits(limiter, alice, 1, at: 18 * Self.second) == [.rejected])  // the hour: 5 used
    }

    @Test func defaultsCountPerRouteAndTheApplicationLimitAcrossRoutes() {
        let perRoute = Self.limiter { $0.default = "1 per minute" }
        #expect(hits(perRoute, alice, 2, route: "/", at: 0) == [.allowed, .rejected])
        #expect(hits(perRoute, alice, 1, route: "/films", at: 0) == [.allowed])
        let shared = Self.limiter { $0.application = "1 per minute" }
        #expect(hits(shared, alice, 1, route: "/", at: 0) == [.allowed])
        #expect(hits(shared, alice, 1, route: "/films", at: 0) == [.rejected])
        #expect(shared.check(alice, method: .GET, route: "/films", now: 0).states.map(\.policy.name) == ["app-minute"])
    }

    @Test func routePoliciesMatchMethodAndTemplateAndHeadCountsAsGet() {
        let limiter = Self.limiter { $0.routes = ["GET /": "1 per second", "POST /films": "1 per second"] }
        #expect(limiter.check(alice, method: .GET, route: "/", now: 0).decision == .allowed)
        #expect(limiter.check(alice, method: .HEAD, route: "/", now: 0).decision == .rejected)
        #expect(limiter.check(alice, method: .POST, route: "/add_film", now: 0).decision == .exempt)  // no policy applies
        #expect(limiter.unknownRoutes == ["POST /films"])
    }

    @Test func clientsAreCountedApart() {
        let limiter = Self.limiter { $0.default = "1 per minute" }
        #expect(hits(limiter, alice, 3, at: 0) == [.allowed, .rejected, .rejected])
        #expect(hits(limiter, bob, 1, at: 0) == [.allowed])
    }

    @Test func ipv6ClientsAreKeyedByTheirPrefix() {
        let limiter = Self.limiter { $0.default = "1 per minute" }
        let one = ClientKey(address: IPAddress("2001:db8:1:2::1")!, ipv6Prefix: 64)
        let sameSubnet = ClientKey(address: IPAddress("2001:db8:1:2:ffff::9")!, ipv6Prefix: 64)
        let otherSubnet = ClientKey(address: IPAddress("2001:db8:1:3::1")!, ipv6Prefix: 64)
        #expect(one == sameSubnet)
        #expect(hits(limiter, one, 1, at: 0) == [.allowed])
        #expect(hits(limiter, sameSubnet, 1, at: 0) == [.rejected])
        #expect(hits(limiter, otherSubnet, 1, at: 0) == [.allowed])
        #expect(ClientKey(address: IPAddress("2001:db8:1:2::1")!, ipv6Prefix: 128) != ClientKey(address: IPAddress("2001:db8:1:2::2")!, ipv6Prefix: 128))
        // IPv4 is never cut, whatever the IPv6 prefix.
        #expect(ClientKey(address: IPAddress("10.0.0.1")!, ipv6Prefix: 8) != ClientKey(address: IPAddress("10.0.0.2")!, ipv6Prefix: 8))
    }

    @Test func retryAfterIsWholeSecondsAtLeastOne() {
        let limiter = Self.limiter { $0.default = "2 per minute" }
        _ = hits(limiter, alice, 2, at: 0)
        #expect(limiter.check(alice, method: .GET, route: "/", now: 0).retryAfter == 30)
        #expect(limiter.check(alice, method: .GET, route: "/", now: 29 * Self.second + 1).retryAfter == 1)
        let fast = Self.limiter { $0.default = "10 per second" }
        _ = hits(fast, alice, 10, at: 0)
        #expect(fast.check(alice, method: .GET, route: "/", now: 0).retryAfter == 1)  // 0.1 s rounds up to 1
    }

    @Test func headersFollowDraft11() {
        let limiter = Self.limiter {
            $0.default = "50 per hour"
            $0.routes = ["GET /": "1 per second"]
        }
        let first = limiter.check(alice, method: .GET, route: "/", now: 0)
        #expect(first.policyHeader == #""hour";q=50;w=3600, "second";q=1;w=1"#)
        #expect(first.statusHeader == #""second";r=0;t=1"#)
        var headers = HTTPHeaders()
        first.decorate(&headers)
        #expect(headers["Retry-After"] == nil)
        let second = limiter.check(alice, method: .GET, route: "/", now: Self.second / 2)
        second.decorate(&headers)
        #expect(headers["Retry-After"] == "1")
        #expect(headers["RateLimit"] == #""second";r=0;t=1"#)
        let later = limiter.check(alice, method: .GET, route: "/", now: 10 * Self.second)
        #expect(later.statusHeader == #""second";r=0;t=1"#)
        #expect(later.states.first { $0.policy.name == "hour" }.map { ($0.remaining, $0.reset) } ?? (0, 0) == (48, 134))  // two used, 144 s of arrivals, 10 s gone
    }

    @Test func clashingNamesAreMadeDistinct() {
        let limiter = Self.limiter {
            $0.default = "100 per hour; 10 per hour"
            $0.application = "1000 per hour"
            $0.routes = ["GET /": "5 per hour"]
        }
        let names = limiter.check(alice, method: .GET, route: "/", now: 0).states.map(\.policy.name)
        #expect(names == ["hour", "hour-2", "app-hour", "route-hour"])
    }

    @Test func dryRunCountsButNeverRejects() {
        let limiter = Self.limiter {
            $0.default = "1 per minute"
            $0.dryRun = true
        }
        #expect(hits(limiter, alice, 3, at: 0) == [.allowed, .dryRunRejected, .dryRunRejected])
        #expect(limiter.decisions.contains(RateLimitDecisionCount(policy: "minute", decision: "dry_run_rejected", count: 2)))
    }

    @Test func disabledDecidesNothing() {
        let limiter = Self.limiter {
            $0.default = "1 per minute"
            $0.enabled = false
        }
        #expect(hits(limiter, alice, 3, at: 0) == [.disabled, .disabled, .disabled])
        #expect(limiter.authAttempt(alice, now: 0).decision == .disabled)
        #expect(limiter.trackedClients == 0)
    }

    @Test func decisionsAreCountedByPolicy() {
        let limiter = Self.limiter { $0.default = "1 per minute" }
        _ = hits(limiter, alice, 3, at: 0)
        _ = limiter.exempt()
        let counts = limiter.decisions
        #expect(counts.contains(RateLimitDecisionCount(policy: "minute", decision: "allowed", count: 1)))
        #expect(counts.contains(RateLimitDecisionCount(policy: "minute", decision: "rejected", count: 2)))
        #expect(counts.contains(RateLimitDecisionCount(policy: "none", decision: "exempt", count: 1)))
    }

    @Test func authFailuresHaveTheirOwnBudget() {
        let limiter = Self.limiter {
            $0.authFailures = "2 per minute"
            $0.default = "1 per minute"
        }
        // Spending the request budget leaves the failure budget whole, and the other way round.
        #expect(hits(limiter, bob, 2, at: 0) == [.allowed, .rejected])
        #expect(limiter.authAttempt(bob, now: 0).decision == .allowed)
        #expect(limiter.authAttempt(alice, now: 0).decision == .allowed)
        limiter.recordAuthFailure(alice, now: 0)
        limiter.recordAuthFailure(alice, now: 0)
        let spent = limiter.authAttempt(alice, now: 0)
        #expect(spent.decision == .rejected)
        #expect(spent.retryAfter == 30)
        #expect(spent.policyHeader == #""auth-minute";q=2;w=60"#)
        #expect(limiter.authAttempt(bob, now: 0).decision == .allowed)
        #expect(hits(limiter, alice, 1, at: 0) == [.allowed], "failures spend nothing of the request budget")
        #expect(limiter.authAttempt(alice, now: 30 * Self.second).decision == .allowed)
        #expect(limiter.trackedAuthFailureClients == 1)
    }
}

extension RateLimitResult {
    func remaining(of policy: String) -> Int? {
        states.first { $0.policy.name == policy }?.remaining
    }
}

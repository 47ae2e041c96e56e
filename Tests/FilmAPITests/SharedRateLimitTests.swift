import Testing
@testable import FilmAPI

/// The pure parts of the Redis mode: the storage URL, the breaker, the script's arguments and
/// answers, the refusal cache. The script itself runs against a real redis-server in the live
/// suite (test_redis_limits.py).
@Suite struct SharedRateLimitTests {
    static let second: Int64 = 1_000_000_000

    @Test func storageSettingsParse() {
        #expect(RateLimitStorage.parse("memory") == .success(.memory))
        #expect(RateLimitStorage.parse("redis://10.0.0.5:6380/3") == .success(.redis(.init(endpoint: .tcp(host: "10.0.0.5", port: 6380), database: 3))))
        #expect(RateLimitStorage.parse("redis://cache") == .success(.redis(.init(endpoint: .tcp(host: "cache", port: 6379), database: 0))))
        #expect(RateLimitStorage.parse("redis://[::1]:7000") == .success(.redis(.init(endpoint: .tcp(host: "::1", port: 7000), database: 0))))
        #expect(RateLimitStorage.parse("unix:///run/redis.sock") == .success(.redis(.init(endpoint: .unix(path: "/run/redis.sock"), database: 0))))
        for bad in ["", "redis", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x", "redis://:pw@h", "unix://rel", "http://h"] {
            if case .success = RateLimitStorage.parse(bad) { Issue.record("accepted \(bad)") }
        }
    }

    @Test func badStorageKeysAreStartupErrorsNamingTheKey() {
        for (key, value) in [("storage", JSONValue.string("redis://h:0")), ("on_storage_error", .string("maybe")),
                             ("storage_timeout_ms", .integer(0)), ("storage_prefix", .string("has space"))] {
            #expect(throws: ConfigError.self) { _ = try ConfigLoader.load(file: nil, flags: ["rate_limits.\(key)": value]) }
            do {
                _ = try ConfigLoader.load(file: nil, flags: ["rate_limits.\(key)": value])
            } catch {
                #expect(error.key == "rate_limits.\(key)")
            }
        }
    }

    @Test func theBreakerBacksOffDoublingToItsCapAndClosesOnSuccess() {
        var breaker = RedisBreaker()
        let first = breaker.failed(now: 0)
        #expect(first.opened && first.probeAt == RedisBreaker.firstBackoff && !breaker.isClosed)
        var backoffs: [Int64] = []
        for step in 0..<8 {
            breaker.probing()
            let next = breaker.failed(now: Int64(step))
            #expect(!next.opened)
            backoffs.append(breaker.backoff)
        }
        #expect(backoffs.prefix(3) == [100_000_000, 200_000_000, 400_000_000])
        #expect(backoffs.last == RedisBreaker.maxBackoff)
        breaker.probing()
        let closedIt = breaker.succeeded(), closedAgain = breaker.succeeded()
        #expect(closedIt && breaker.isClosed && breaker.backoff == RedisBreaker.firstBackoff)
        #expect(!closedAgain)
    }

    static func layout() -> RateLimitLayout {
        var settings = RateLimitSettings()
        settings.default = ""
        settings.routes = ["GET /": "1 per second; 50 per hour", "GET /films": "5 per minute"]
        settings.authFailures = "10 per minute"
        return RateLimitLayout(settings: settings, routes: [(.GET, "/"), (.GET, "/films")])
    }

    static func request(_ layout: RateLimitLayout, address: String, keyRefused: Bool?, route: String) -> RateLimitScript.Request {
        let client = ClientKey(address: IPAddress(address)!, ipv6Prefix: 64)
        let query = RateLimitQuery(client: client, address: client, keySent: keyRefused != nil, keyRefused: keyRefused ?? false,
                                   method: .GET, route: route)
        return .init(query, counters: .init(layout.counters(method: .GET, template: route), policies: layout.policies),
                     auth: .init(layout.authFailures, policies: layout.policies))
    }

    @Test func scriptArgumentsNameEveryCounterOnceWithItsTimesInMicroseconds() {
        let layout = Self.layout()
        let request = Self.request(layout, address: "192.0.2.1", keyRefused: true, route: "/")
        let arguments = RateLimitScript.arguments(prefix: "p:", [request], auth: .init(layout.authFailures, policies: layout.policies),
                                                  dryRun: false)
        #expect(arguments == RedisCommand(["3",
                              "p:00000000000000000000ffffc0000201:f|auth-minute|10/60",
                              "p:00000000000000000000ffffc0000201:r|GET|/|second|1/1",
                              "p:00000000000000000000ffffc0000201:r|GET|/|hour|50/3600",
                              "0", "2", "1", "2", "6000000", "60000000", "1000000", "1000000", "72000000", "3600000000"]))
        #expect(RateLimitScript.sha1.count == 40)
    }

    /// Two requests of one client in one call: both name the same keys (the script reads each
    /// once and decides the second after the first), each with its own ARGV part.
    @Test func aBatchSendsEveryRequestsKeysThenEveryRequestsTimingsInOrder() {
        let layout = Self.layout()
        let same = Self.request(layout, address: "192.0.2.1", keyRefused: nil, route: "/films")
        let arguments = RateLimitScript.arguments(prefix: "p:", [same, same], auth: .init(layout.authFailures, policies: layout.policies),
                                                  dryRun: true)
        let key = "p:00000000000000000000ffffc0000201:r|GET|/films|minute|5/60"
        #expect(arguments == RedisCommand(["2", key, key, "1", "0", "0", "1", "12000000", "60000000", "0", "0", "1", "12000000", "60000000"]))
    }

    /// Requests with different counter sets (one with a refused key, one without) in one call:
    /// each one's keys and counts are its own, and so is its answer.
    @Test func aBatchOfDifferentCounterSetsIsAnsweredPerRequest() {
        let layout = Self.layout()
        let auth = RateLimitScript.EncodedSet(layout.authFailures, policies: layout.policies)
        let withKey = Self.request(layout, address: "192.0.2.1", keyRefused: true, route: "/")
        let other = Self.request(layout, address: "192.0.2.2", keyRefused: nil, route: "/films")
        let arguments = RateLimitScript.arguments(prefix: "p:", [withKey, other], auth: auth, dryRun: false)
        #expect(arguments == RedisCommand(["4",
                              "p:00000000000000000000ffffc0000201:f|auth-minute|10/60",
                              "p:00000000000000000000ffffc0000201:r|GET|/|second|1/1",
                              "p:00000000000000000000ffffc0000201:r|GET|/|hour|50/3600",
                              "p:00000000000000000000ffffc0000202:r|GET|/films|minute|5/60",
                              "0", "2", "1", "2", "6000000", "60000000", "1000000", "1000000", "72000000", "3600000000",
                              "0", "0", "1", "12000000", "60000000"]))
        // The first refused by its auth-failure budget (one outcome), the second admitted (one).
        let reply: RedisReply = .integers([2, 0, 0, 60_000_000, 6_000_000, 0, 1, 3, 12_000_000, 0])
        let answers = RateLimitScript.answers(reply, for: [withKey, other])
        #expect(answers?.map(\.refusedAuthentication) == [true, false])
        #expect(answers?.map { $0.outcomes.map(\.conforms) } == [[false], [true]])
        #expect(answers?[0].outcomes[0].wait == 6_000_000_000 && answers?[1].outcomes[0].remaining == 3)
        // The first admitted instead: two outcomes of its own counters, so the same numbers do not fit.
        #expect(RateLimitScript.answers(.integers([0, 1, 0, 1, 0, 1, 3, 12_000_000, 0]), for: [withKey, other]) == nil)
        #expect(RateLimitScript.answers(.integers([0, 1, 0, 1, 0, 1, 49, 72_000_000, 0, 0, 1, 3, 12_000_000, 0]), for: [withKey, other])?
                    .map(\.outcomes.count) == [2, 1])
    }

    @Test func answersAreCheckedBeforeTheyAreBelieved() {
        let layout = Self.layout()
        let two = Self.request(layout, address: "192.0.2.1", keyRefused: nil, route: "/")
        let reply: RedisReply = .integers([1, 1, 4, 2_000_000, 0, 0, 0, 500_000, 250_000])
        let answer = RateLimitScript.answers(reply, for: [two])?.first
        #expect(answer?.refusedAuthentication == false)
        #expect(answer?.outcomes.map(\.conforms) == [true, false])
        #expect(answer?.outcomes[1].wait == 250_000_000)
        #expect(RateLimitScript.answers(reply, for: [two, two]) == nil)  // too short
        #expect(RateLimitScript.answers(.integers([1, 1, 4, 2_000_000, 0, 0, 0, 500_000, 250_000, 0]), for: [two]) == nil)  // too long
        #expect(RateLimitScript.answers(.error("ERR"), for: [two]) == nil)
        #expect(RateLimitScript.answers(.integers([7]), for: [two]) == nil)
        #expect(RateLimitScript.answers(.array([.integer(0), .string("x"), .integer(0), .integer(0), .integer(0)]), for: [two]) == nil)
        #expect(RedisCommand(["PING"]).wire == Array("*1\r\n$4\r\nPING\r\n".utf8))
    }

    @Test func theRefusalCacheKeepsARefusalExactlyUntilItsWaitHasPassed() {
        var cache = RejectionCache(capacity: 2)
        var refused = RateLimitResult(decision: .rejected)
        refused.retryAfter = 3
        let key = RejectionCache.Key(client: .unknown, set: 1)
        cache.remember(refused, wait: 2 * Self.second + 1, for: key, asked: 10 * Self.second)
        let during = cache.refusal(for: key, now: 11 * Self.second), after = cache.refusal(for: key, now: 12 * Self.second + 1)
        #expect(during?.retryAfter == 2)
        #expect(after == nil)
        cache.remember(RateLimitResult(decision: .allowed), wait: 0, for: key, asked: 0)
        #expect(cache.isEmpty)
        for set in 0..<5 { cache.remember(refused, wait: Self.second, for: .init(client: .unknown, set: set), asked: 0) }
        let newest = cache.refusal(for: .init(client: .unknown, set: 4), now: 1)
        #expect(newest != nil)
    }
}

/// `rate_limits.storage` = Redis (SPEC §9): one event loop's decisions, all of one loop turn in
/// one round trip on the loop's own connection (`ScriptBatch`; `RateLimitScript` decides every
/// policy of each request, in order), the
/// same `RateLimitResult` as memory gives, so the headers are the same. When Redis fails, is
/// late or its breaker is open, `rate_limits.on_storage_error` decides instead, at once or at
/// the timeout, never later: `local` (this node's own in-process limiter), `allow` or `deny`.
/// The auth-failure budget never falls back to allow: under `allow` it is decided locally.
///
/// Built per configuration (a reload builds another); loop-confined, like its connection.
final class SharedRateLimits: @unchecked Sendable {
    enum Fallback: String { case local, allow, deny }

    let connection: RedisConnection
    let limiter: RateLimiter
    private let prefix: String
    private let timeout: Int64
    private let fallback: Fallback
    private let clock: SecurityClock
    private let metrics: RateLimitStorageMetrics
    private var rejections = RejectionCache()
    private let encodedAuthFailures: RateLimitScript.EncodedSet
    private let batch: ScriptBatch
    /// By `CounterSet.id`, encoded on first use.
    private var encodedSets: [Int: RateLimitScript.EncodedSet] = [:]

    init(connection: RedisConnection, limiter: RateLimiter, clock: SecurityClock, metrics: RateLimitStorageMetrics) {
        self.connection = connection
        self.limiter = limiter
        self.clock = clock
        self.metrics = metrics
        prefix = limiter.settings.storagePrefix
        timeout = Int64(limiter.settings.storageTimeoutMs) * 1_000_000
        fallback = Fallback(rawValue: limiter.settings.onStorageError) ?? .local
        encodedAuthFailures = RateLimitScript.EncodedSet(limiter.layout.authFailures, policies: limiter.layout.policies)
        batch = ScriptBatch(connection: connection, clock: clock, prefix: prefix, auth: encodedAuthFailures, dryRun: limiter.settings.dryRun)
    }

    func decide(_ query: RateLimitQuery, now: Int64) -> Answer<RateLimitDecision> {
        let layout = limiter.layout
        let set = layout.counters(method: query.method, template: query.route)
        let checksAuthentication = query.keySent && !layout.authFailures.counters.isEmpty
        // Disabled, or nothing to count: no round trip (and the same counts as memory).
        guard limiter.settings.enabled, !set.counters.isEmpty || checksAuthentication else { return .now(limiter.decide(query, now: now)) }
        if let cached = cachedRefusal(query, set: set, checksAuthentication: checksAuthentication, now: now) { return .now(cached) }
        guard connection.isAvailable else { return .now(fallBack(query, set: set, now: now, reason: "unavailable")) }
        let request = RateLimitScript.Request(query, counters: encoded(set), auth: encodedAuthFailures)
        return .later { [self] done in
            batch.add(request, deadline: now + timeout) { [self] answer in
                done(.success(decision(answer, query, set: set, asked: now)))
            }
        }
    }

    private func encoded(_ set: RateLimitLayout.CounterSet) -> RateLimitScript.EncodedSet {
        if let known = encodedSets[set.id] { return known }
        let encoding = RateLimitScript.EncodedSet(set, policies: limiter.layout.policies)
        encodedSets[set.id] = encoding
        return encoding
    }

    private func decision(_ received: ScriptBatch.Outcome, _ query: RateLimitQuery, set: RateLimitLayout.CounterSet,
                          asked: Int64) -> RateLimitDecision {
        let now = clock.monotonicNanoseconds()
        let believed: RateLimitScript.Answer?
        switch received {
        case .failure(let failure):
            return fallBack(query, set: set, now: now, reason: failure == .timeout ? "timeout" : failure == .unavailable ? "unavailable" : "connection")
        case .success(let value): believed = value
        }
        guard let answer = believed else {
            metrics.storageError("reply")
            return fallBack(query, set: set, now: now, reason: "reply")
        }
        metrics.decided(by: "redis")
        let counted = answer.refusedAuthentication ? limiter.layout.authFailures : set
        guard !counted.counters.isEmpty else { return limiter.decide(query, now: now) }  // only the auth budget: exempt
        let result = RateLimitResult(counted, policies: limiter.layout.policies, dryRun: limiter.settings.dryRun) { answer.outcomes[$0] }
        limiter.record(result, counters: counted.counters)
        let wait = answer.outcomes.lazy.map(\.wait).max() ?? 0
        let client = answer.refusedAuthentication ? query.address : query.client
        rejections.remember(result, wait: wait, for: .init(client: client, set: answer.refusedAuthentication ? RejectionCache.authentication : set.id), asked: asked)
        return RateLimitDecision(result: result, refusedAuthentication: answer.refusedAuthentication)
    }

    /// A refusal still in force: for the auth-failure budget when a key is sent; for the
    /// request's limits only when no auth-failure check comes first (a refused key must reach
    /// Redis to be counted).
    private func cachedRefusal(_ query: RateLimitQuery, set: RateLimitLayout.CounterSet, checksAuthentication: Bool, now: Int64) -> RateLimitDecision? {
        guard !rejections.isEmpty else { return nil }
        let key = checksAuthentication ? RejectionCache.Key(client: query.address, set: RejectionCache.authentication)
                                       : RejectionCache.Key(client: query.client, set: set.id)
        let counters = checksAuthentication ? limiter.layout.authFailures.counters : set.counters
        guard let result = rejections.refusal(for: key, now: now) else { return nil }
        metrics.decided(by: "rejection_cache")
        limiter.record(result, counters: counters)
        return RateLimitDecision(result: result, refusedAuthentication: checksAuthentication)
    }

    private func fallBack(_ query: RateLimitQuery, set: RateLimitLayout.CounterSet, now: Int64, reason: String) -> RateLimitDecision {
        metrics.decided(by: "fallback")
        metrics.fellBack(policy: fallback.rawValue, reason: reason)
        switch fallback {
        case .local:
            return limiter.decide(query, now: now)
        case .allow:
            return limiter.decideAuthentication(query, now: now) ?? RateLimitDecision(result: RateLimitResult(decision: .allowed))
        case .deny:
            let refused = set.counters.isEmpty ? limiter.layout.authFailures : set
            let second = GCRA.Outcome(conforms: false, newTAT: 0, remaining: 0, reset: 1_000_000_000, wait: 1_000_000_000)
            let result = RateLimitResult(refused, policies: limiter.layout.policies, dryRun: limiter.settings.dryRun) { _ in second }
            limiter.record(result, counters: refused.counters)
            return RateLimitDecision(result: result, refusedAuthentication: set.counters.isEmpty)
        }
    }
}

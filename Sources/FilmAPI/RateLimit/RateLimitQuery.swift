/// Everything the limiter needs to decide one request, in one question (so that a shared
/// store answers it in one round trip): whom to count, whether a key was sent and refused
/// (the stricter auth-failure budget, per client address), and the route.
struct RateLimitQuery: Sendable {
    /// The request's counters belong to it (its address, or its key id with `key_by: api_key`).
    let client: ClientKey
    /// The auth-failure counters belong to the address, whoever the key says the caller is.
    let address: ClientKey
    /// A key was sent: the auth-failure budget is checked (the key is refused with 429 when spent).
    let keySent: Bool
    /// The key sent was refused: one more failure is counted.
    let keyRefused: Bool
    let method: HTTPMethod
    let route: String?
}

/// The answer: the request's limits, or the spent auth-failure budget that refused it before
/// anything else was counted.
struct RateLimitDecision: Sendable {
    var result: RateLimitResult
    /// `result` is the auth-failure budget's refusal (429 whatever the key).
    var refusedAuthentication = false
}

extension RateLimiter {
    /// Decides in this process: the auth-failure budget first (a spent one refuses the request
    /// and counts nothing), a refused key counted next, then the request's own limits.
    func decide(_ query: RateLimitQuery, now: Int64) -> RateLimitDecision {
        if let refusal = decideAuthentication(query, now: now) { return refusal }
        return RateLimitDecision(result: check(query.client, method: query.method, route: query.route, now: now))
    }

    /// The auth-failure part alone: the refusal when the budget is spent, else nil (and a
    /// refused key counted).
    func decideAuthentication(_ query: RateLimitQuery, now: Int64) -> RateLimitDecision? {
        guard query.keySent else { return nil }
        let attempt = authAttempt(query.address, now: now)
        if attempt.decision == .rejected { return RateLimitDecision(result: attempt, refusedAuthentication: true) }
        if query.keyRefused { recordAuthFailure(query.address, now: now) }
        return nil
    }
}

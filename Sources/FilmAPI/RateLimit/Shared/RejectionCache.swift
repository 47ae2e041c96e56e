/// Refusals the shared store gave, remembered on this loop until their retry time: a client
/// that keeps sending while limited is refused again without a round trip. Exact, because a
/// refused request counts nowhere: nothing any node does can admit it before that time.
/// Bounded: past `capacity` entries the expired ones go, and if none has expired, all (a lost
/// entry costs one round trip, never a wrong answer). Loop-confined.
struct RejectionCache {
    struct Key: Hashable {
        let client: ClientKey
        /// The counter set refused (`CounterSet.id`); `authentication` for the auth-failure budget.
        let set: Int
    }

    static let authentication = Int.min
    let capacity: Int
    private var entries: [Key: (until: Int64, at: Int64, result: RateLimitResult)] = [:]

    init(capacity: Int = 4096) { self.capacity = capacity }

    var isEmpty: Bool { entries.isEmpty }

    /// Remembers a refusal that Redis gave with `wait` nanoseconds until the request would
    /// conform, counted from `asked` (before the round trip: the wait can only be overstated by
    /// counting from later).
    mutating func remember(_ result: RateLimitResult, wait: Int64, for key: Key, asked now: Int64) {
        guard result.decision == .rejected else { return }
        if entries.count >= capacity {
            entries = entries.filter { $0.value.until > now }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[key] = (now + wait, now, result)
    }

    /// The refusal still in force for `key`, its times counted down to `now`.
    mutating func refusal(for key: Key, now: Int64) -> RateLimitResult? {
        guard let entry = entries[key] else { return nil }
        guard entry.until > now else {
            entries[key] = nil
            return nil
        }
        let elapsed = Int((now - entry.at) / 1_000_000_000)
        var result = entry.result
        result.retryAfter = max(1, RateLimitResult.seconds(entry.until - now))
        result.states = result.states.map { .init(policy: $0.policy, remaining: $0.remaining, reset: max(0, $0.reset - elapsed), exceeded: $0.exceeded) }
        return result
    }
}

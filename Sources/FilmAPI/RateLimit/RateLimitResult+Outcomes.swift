extension RateLimitResult {
    /// The decision over every counter of `set`, from each one's GCRA outcome (by position in
    /// the set): admitted when all conform, and then the state each reports after it; refused
    /// otherwise, when a rejected request takes nothing, so a policy that would have admitted
    /// it reports its state before it. The same whoever keeps the counters (memory, Redis).
    @inline(__always)
    init(_ set: RateLimitLayout.CounterSet, policies: [RateLimitPolicy], dryRun: Bool, outcome: (Int) -> GCRA.Outcome) {
        let counters = set.counters
        let conforms = counters.indices.allSatisfy { outcome($0).conforms }
        self.init(decision: conforms ? .allowed : (dryRun ? .dryRunRejected : .rejected))
        policyHeader = set.policyHeader
        states.reserveCapacity(counters.count)
        var wait: Int64 = 0
        for position in counters.indices {
            let outcome = outcome(position)
            let policy = policies[counters[position].policy]
            let untaken = !conforms && outcome.conforms
            states.append(.init(policy: policy, remaining: outcome.remaining + (untaken ? 1 : 0),
                                reset: Self.seconds(untaken ? outcome.reset - policy.interval : outcome.reset),
                                exceeded: !outcome.conforms))
            wait = max(wait, outcome.wait)
        }
        if !conforms { retryAfter = max(1, Self.seconds(wait)) }
    }
}

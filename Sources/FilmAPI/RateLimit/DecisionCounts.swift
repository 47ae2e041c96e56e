/// How many requests each policy admitted or refused: what `filmd_ratelimit_decisions_total`
/// reports. Guarded by the limiter's lock.
struct DecisionCounts {
    private let names: [String]
    /// `[policy][decision]`: allowed, rejected, dry_run_rejected.
    private var perPolicy: [[Int]]
    private var exempt = 0
    private var disabled = 0
    private static let limited: [RateLimitResult.Decision] = [.allowed, .rejected, .dryRunRejected]

    init(policies: [RateLimitPolicy]) {
        names = policies.map(\.name)
        perPolicy = Array(repeating: [0, 0, 0], count: policies.count)
    }

    /// An admitted request counts as `allowed` under every policy that applied; a refused one
    /// counts under the policies that refused it.
    mutating func record(_ result: RateLimitResult, counters: [RateLimitLayout.Counter]) {
        guard let column = Self.limited.firstIndex(of: result.decision) else { return }
        for (counter, state) in zip(counters, result.states) where result.decision == .allowed || state.exceeded {
            perPolicy[counter.policy][column] += 1
        }
    }

    mutating func record(_ decision: RateLimitResult.Decision) {
        if decision == .exempt { exempt += 1 } else if decision == .disabled { disabled += 1 }
    }

    /// One entry per policy and decision (policy names repeat when routes share a name), and
    /// `exempt` / `disabled` under the policy `none`.
    func snapshot() -> [RateLimitDecisionCount] {
        var totals: [String: Int] = [:]
        var order: [(String, String)] = []
        for (policy, row) in zip(names, perPolicy) {
            for (decision, count) in zip(Self.limited, row) {
                let key = policy + "\u{0}" + decision.rawValue
                if totals[key] == nil { order.append((policy, decision.rawValue)) }
                totals[key, default: 0] += count
            }
        }
        return order.map { RateLimitDecisionCount(policy: $0.0, decision: $0.1, count: totals[$0.0 + "\u{0}" + $0.1] ?? 0) }
            + [RateLimitDecisionCount(policy: "none", decision: "exempt", count: exempt),
               RateLimitDecisionCount(policy: "none", decision: "disabled", count: disabled)]
    }
}

/// One line of the decisions snapshot.
struct RateLimitDecisionCount: Sendable, Equatable {
    let policy: String
    let decision: String
    let count: Int
}

/// What the limiter decided for one request, with the state of every policy that applied
/// (for the `RateLimit-Policy` and `RateLimit` headers and `Retry-After`).
struct RateLimitResult: Sendable {
    enum Decision: String, Sendable, CaseIterable {
        case allowed, rejected
        case dryRunRejected = "dry_run_rejected"
        case exempt, disabled
    }

    /// One applied policy after the decision: `r` requests remaining, `t` seconds until the
    /// client's quota under it is full again.
    struct PolicyState: Sendable, Equatable {
        let policy: RateLimitPolicy
        let remaining: Int
        let reset: Int
        /// This policy is the one (or one of those) that refused the request.
        let exceeded: Bool
    }

    var decision: Decision
    var states: [PolicyState] = []
    /// `RateLimit-Policy`: every policy that applied (written once per route at start).
    var policyHeader = ""
    /// Whole seconds (at least 1) until the request would be admitted; 0 when it was.
    var retryAfter = 0
    /// The client shares the overflow row because the table was full.
    var overflowed = false

    static let exempt = RateLimitResult(decision: .exempt)
    static let disabled = RateLimitResult(decision: .disabled)

    /// The policy closest to exhaustion: fewest requests remaining, then the longest reset.
    var closest: PolicyState? { closestIndex.map { states[$0] } }

    /// Where `closest` is in `states`: compared in place, since copying a state copies its policy.
    var closestIndex: Int? {
        guard var best = states.indices.first else { return nil }
        for index in states.indices.dropFirst()
        where (states[index].remaining, -states[index].reset) < (states[best].remaining, -states[best].reset) {
            best = index
        }
        return best
    }

    /// Nanoseconds to whole seconds, rounded up.
    static func seconds(_ nanoseconds: Int64) -> Int {
        Int((max(0, nanoseconds) + 999_999_999) / 1_000_000_000)
    }
}

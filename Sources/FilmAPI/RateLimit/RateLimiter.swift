import Foundation

/// Per-client rate limits (SPEC §2): GCRA counters in two bounded tables, one for requests and
/// one for failed authentications. Time is an argument (nanoseconds on a monotonic clock), so
/// tests never sleep.
///
/// One instance serves every event loop: per-loop instances would multiply each client's
/// allowance by the number of loops its connections land on. Every call holds one lock for
/// a few hash lookups and integer updates (well under a microsecond), which is cheap next to
/// the rest of a request even with several loops.
final class RateLimiter: @unchecked Sendable {
    let settings: RateLimitSettings
    let layout: RateLimitLayout
    private let lock = NSLock()
    private var requests: ClientTable
    private var failures: ClientTable
    private var counts: DecisionCounts
    private var lastOverflowNotice: Int64?

    init(settings: RateLimitSettings, routes: [(method: HTTPMethod, template: String)]) {
        self.settings = settings
        layout = RateLimitLayout(settings: settings, routes: routes)
        let policies = layout.policies
        requests = ClientTable(width: layout.width, capacity: settings.maxClients,
                               leads: layout.counterPolicies.map { policies[$0].lead })
        failures = ClientTable(width: layout.authFailures.counters.count, capacity: settings.maxClients,
                               leads: layout.authFailures.counters.map { policies[$0.policy].lead })
        counts = DecisionCounts(policies: layout.policies)
    }

    var policies: [RateLimitPolicy] { layout.policies }
    /// `rate_limits.routes` keys that match no route.
    var unknownRoutes: [String] { layout.unknownRoutes }

    /// Decides one request of `client` on `route` (a template, nil when no route matched) and,
    /// when every applicable policy admits it, counts it. A rejected request counts nowhere,
    /// so hammering while limited does not prolong the wait. Dry run decides the same way
    /// and reports `dry_run_rejected` instead of rejecting.
    func check(_ client: ClientKey, method: HTTPMethod, route: String?, now: Int64) -> RateLimitResult {
        guard settings.enabled else { return count(.disabled) }
        let counters = layout.counters(method: method, template: route)
        guard !counters.counters.isEmpty else { return count(.exempt) }
        lock.lock()
        defer { lock.unlock() }
        let row = requests.row(for: client, now: now)
        var result = evaluate(counters, in: &requests, row: row, now: now, commit: true)
        result.overflowed = requests.isOverflow(row)
        counts.record(result, counters: counters.counters)
        return result
    }

    /// Whether `client` may attempt authentication now (its failure budget is not spent);
    /// counts nothing. A request that sends a key is refused with 429 when this says so.
    func authAttempt(_ client: ClientKey, now: Int64) -> RateLimitResult {
        guard settings.enabled, !layout.authFailures.counters.isEmpty else { return .disabled }
        lock.lock()
        defer { lock.unlock() }
        // A client with no failure on record has its whole budget: nothing to evaluate. In a full
        // table an untracked client's failures may be in the overflow row it shares.
        guard let row = failures.existingRow(for: client) ?? failures.sharedRow(for: client) else {
            return RateLimitResult(decision: .allowed)
        }
        let result = evaluate(layout.authFailures, in: &failures, row: row, now: now, commit: false)
        if result.decision != .allowed { counts.record(result, counters: layout.authFailures.counters) }
        return result
    }

    /// A request on a route the limiter never counts (`/healthz`, `/readyz`, `/metrics`).
    func exempt() -> RateLimitResult {
        count(settings.enabled ? .exempt : .disabled)
    }

    private func count(_ decision: RateLimitResult.Decision) -> RateLimitResult {
        lock.lock()
        counts.record(decision)
        lock.unlock()
        return RateLimitResult(decision: decision)
    }

    /// Counts one failed authentication of `client`.
    func recordAuthFailure(_ client: ClientKey, now: Int64) {
        guard settings.enabled, !layout.authFailures.counters.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let row = failures.row(for: client, now: now)
        _ = evaluate(layout.authFailures, in: &failures, row: row, now: now, commit: true)
    }

    /// True at most once a minute while new clients land in the overflow rows (for a log line).
    func takeOverflowNotice(now: Int64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if let last = lastOverflowNotice, now - last < 60_000_000_000 { return false }
        lastOverflowNotice = now
        return true
    }

    /// What one tracked client costs in the request table, in bytes (stated in the README and
    /// logged at start).
    var bytesPerClient: Int { ClientTable.bytesPerClient(width: layout.width, capacity: settings.maxClients) }

    /// Counters (policies × scopes) in each client's row.
    var countersPerClient: Int { layout.width }

    /// Clients tracked one by one in the request table (at most `rate_limits.max_clients`).
    var trackedClients: Int {
        lock.lock()
        defer { lock.unlock() }
        return requests.count
    }

    /// Clients with failed authentications being remembered (same cap, separate table).
    var trackedAuthFailureClients: Int {
        lock.lock()
        defer { lock.unlock() }
        return failures.count
    }

    /// Decisions so far by policy name and decision (`filmd_ratelimit_decisions_total`).
    var decisions: [RateLimitDecisionCount] {
        lock.lock()
        defer { lock.unlock() }
        return counts.snapshot()
    }

    /// Evaluates every counter; commits them all when all conform (and `commit`), none otherwise.
    private func evaluate(_ set: RateLimitLayout.CounterSet, in table: inout ClientTable, row: Int?,
                          now: Int64, commit: Bool) -> RateLimitResult {
        let policies = layout.policies, counters = set.counters
        // Each counter's outcome is worked out again where it is needed (a few multiplications)
        // rather than kept in an array: the arrays cost more than the arithmetic.
        func outcome(_ counter: RateLimitLayout.Counter) -> GCRA.Outcome {
            let arrival = row.map { table.arrival(row: $0, counter: counter.index) } ?? 0
            return GCRA.evaluate(tat: arrival, now: now, policy: policies[counter.policy])
        }
        let result = RateLimitResult(set, policies: policies, dryRun: settings.dryRun) { outcome(counters[$0]) }
        if result.decision == .allowed, commit, let row {
            for counter in counters {
                let tat = outcome(counter).newTAT
                table.setArrival(tat, row: row, counter: counter.index)
            }
        }
        return result
    }

    /// Counts a decision made elsewhere (the shared store) like one of its own.
    func record(_ result: RateLimitResult, counters: [RateLimitLayout.Counter]) {
        lock.lock()
        counts.record(result, counters: counters)
        lock.unlock()
    }
}

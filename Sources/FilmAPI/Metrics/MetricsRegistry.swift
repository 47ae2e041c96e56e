import Synchronization

/// Everything `/metrics` reports, in one place the rest of filmd records into.
///
/// The exporter is hand-written rather than swift-metrics + swift-prometheus: with labels
/// that change per request (method, route, status), swift-metrics resolves a handler per
/// request through the factory and swift-prometheus looks up its series by label strings under
/// a registry lock: about 800 and 1150 ns per request, against about 90 ns for one lock and one
/// dictionary update here (`bench/metrics-cost`, release, this 2-core machine; the README's
/// "Metrics" section has the table). Caching the library's histograms per series would need
/// this same dictionary in front of them, and the families they lack would still be ours.
///
/// Thread-safe: requests on any event loop record concurrently; a scrape renders a copy.
final class MetricsRegistry: Sendable {
    let requestDurations: RequestDurations
    let rateLimitDecisions = LabelledCounter(
        name: "filmd_ratelimit_decisions_total", help: "Rate limiter decisions, by policy and decision.",
        labelNames: ["policy", "decision"])
    let authFailures = LabelledCounter(
        name: "filmd_auth_failures_total", help: "Requests refused by authentication, by reason.",
        labelNames: ["reason"])
    /// `filmd_connections_refused_total{reason}`: connections closed at once (`per_client`: the
    /// client held its connection cap).
    let connectionsRefused = LabelledCounter(
        name: "filmd_connections_refused_total", help: "Connections closed at once, by reason.", labelNames: ["reason"])
    /// The shared rate-limit store's families (reported empty in memory mode).
    let rateLimitStorage = RateLimitStorageMetrics()
    private let active = Atomic<Int>(0)
    private let gaugeSources = Locked<[GaugeSource]>([GaugeSource.trackedClientsPlaceholder])

    init(buckets: HistogramBuckets = .requestDuration) {
        requestDurations = RequestDurations(buckets: buckets)
    }

    // MARK: the request chain

    /// A request entered the chain (`http_server_active_requests` + 1).
    func requestBegan() {
        active.wrappingAdd(1, ordering: .relaxed)
    }

    /// A request that `requestBegan` left the chain with `status`.
    func requestEnded(method: HTTPMethod, route: String?, status: Int, nanoseconds: UInt64) {
        active.wrappingSubtract(1, ordering: .relaxed)
        requestDurations.record(method: method, route: route, status: status, nanoseconds: nanoseconds)
    }

    /// A request libevent refused before it was complete: its method and path are unknown.
    func requestRefused(status: Int) {
        requestDurations.record(method: .other, route: RequestDurations.refusedRoute, status: status, nanoseconds: 0)
    }

    var activeRequests: Int { active.load(ordering: .relaxed) }

    // MARK: for the rate limiter and authentication

    /// `filmd_ratelimit_decisions_total{policy,decision}`: `policy` is a configured policy's
    /// name, `decision` one of `allowed`, `rejected`, `dry_run_rejected`.
    func ratelimitDecision(policy: String, decision: String) {
        rateLimitDecisions.increment(policy, decision)
    }

    /// `filmd_auth_failures_total{reason}`: `reason` from a fixed vocabulary (`unknown_key`,
    /// `expired`, `revoked`, `malformed`, ...).
    func authFailure(reason: String) {
        authFailures.increment(reason)
    }

    /// Adds an unlabelled gauge read at scrape time, or replaces the one of that name (the
    /// rate limiter replaces `filmd_ratelimit_tracked_clients`, reported as 0 until then).
    /// `value` runs on whichever thread serves the scrape.
    func registerGaugeSource(name: String, help: String, value: @escaping @Sendable () -> Double) {
        precondition(ExpositionWriter.isValidMetricName(name), "not a Prometheus metric name: \(name)")
        precondition(!Self.reservedNames.contains(name) && !name.hasPrefix("process_"), "\(name) is one of the registry's own metrics")
        let source = GaugeSource(name: name, help: help, value: value)
        gaugeSources.withLock { sources in
            if let index = sources.firstIndex(where: { $0.name == name }) {
                sources[index] = source
            } else {
                sources.append(source)
            }
        }
    }

    var gauges: [GaugeSource] { gaugeSources.withLock { $0 } }
}

/// A gauge whose value is read when `/metrics` is scraped.
struct GaugeSource: Sendable {
    let name: String
    let help: String
    let value: @Sendable () -> Double

    static let trackedClientsPlaceholder = GaugeSource(
        name: "filmd_ratelimit_tracked_clients", help: "Client keys the rate limiter currently tracks.", value: { 0 })
}

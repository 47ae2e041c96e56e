import Synchronization

/// What the shared rate-limit store (Redis, SPEC §9) reports in `/metrics`: who decided each
/// request, the store's failures and what was decided instead, the round trip of every
/// command, and how many loop connections have their breaker open. Thread-safe.
final class RateLimitStorageMetrics: Sendable {
    /// `storage`: `redis`, `rejection_cache` (a client still refused, no round trip) or
    /// `fallback` (the store failed: `on_storage_error` decided).
    let decisions = LabelledCounter(
        name: "filmd_ratelimit_storage_decisions_total", help: "Rate-limit decisions of the shared store's mode, by who decided.",
        labelNames: ["storage"])
    /// `error`: `timeout`, `connection`, `reply` (an error answer, e.g. a failing script).
    let errors = LabelledCounter(
        name: "filmd_ratelimit_storage_errors_total", help: "Failures of the shared rate-limit store, by kind.",
        labelNames: ["error"])
    /// `policy`: `local`, `allow`, `deny`; `reason`: `timeout`, `connection`, `reply`, `unavailable` (breaker open).
    let fallbacks = LabelledCounter(
        name: "filmd_ratelimit_storage_fallbacks_total", help: "Requests decided by rate_limits.on_storage_error, by policy and reason.",
        labelNames: ["policy", "reason"])
    static let roundTripName = "filmd_ratelimit_storage_round_trip_seconds"
    static let breakersName = "filmd_ratelimit_storage_breakers_open"
    /// Fine buckets: a loopback round trip is tens of microseconds, the default timeout 20 ms.
    let roundTripBuckets = HistogramBuckets([0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001,
                                             0.0015, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1])
    private let roundTrips: Locked<HistogramCounts>
    private let openBreakers = Atomic<Int>(0)

    init() {
        roundTrips = Locked(HistogramCounts(slots: roundTripBuckets.slotCount))
    }

    func decided(by storage: String) { decisions.increment(storage) }
    func storageError(_ kind: String) { errors.increment(kind) }
    func fellBack(policy: String, reason: String) { fallbacks.increment(policy, reason) }

    func roundTrip(nanoseconds: UInt64) {
        let slot = roundTripBuckets.slot(ofNanoseconds: nanoseconds)
        roundTrips.withLock { $0.add(slot: slot, nanoseconds: nanoseconds) }
    }

    func breakerOpened() { openBreakers.wrappingAdd(1, ordering: .relaxed) }
    func breakerClosed() { openBreakers.wrappingSubtract(1, ordering: .relaxed) }

    var counters: [LabelledCounter] { [decisions, errors, fallbacks] }

    /// The histogram and the gauge (the counters are written with the registry's others).
    func writeRoundTrips(into out: inout ExpositionWriter) {
        out.family(Self.roundTripName, .histogram, help: "Round trips to the shared rate-limit store, per command.")
        out.histogram(Self.roundTripName, [], buckets: roundTripBuckets, counts: roundTrips.withLock { $0 })
        out.family(Self.breakersName, .gauge, help: "Event-loop connections to the shared rate-limit store whose breaker is open.")
        out.sample(Self.breakersName, openBreakers.load(ordering: .relaxed))
    }
}

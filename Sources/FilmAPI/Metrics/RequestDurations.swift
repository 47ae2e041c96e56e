/// `http_server_request_duration_seconds`: one histogram per method, route template and status
/// code. Every label comes from a bounded set: `HTTPMethod`'s cases, the router's templates
/// (plus `_unmatched` and `_refused`), the status codes filmd answers with.
///
/// Recording takes one lock for a dictionary update keyed by those three values (no
/// allocation once a series exists); the scrape copies the dictionary under the lock and
/// renders outside it. See the README's "Metrics" section for what this costs per request.
final class RequestDurations: Sendable {
    /// The route label of a request whose path matches no route: never the raw path.
    static let unmatchedRoute = "_unmatched"
    /// The route label of a request libevent refused before it was complete.
    static let refusedRoute = "_refused"

    struct Key: Hashable, Sendable {
        var method: HTTPMethod
        var route: String
        var status: Int
    }

    let buckets: HistogramBuckets
    private let series = Locked<[Key: HistogramCounts]>([:])

    init(buckets: HistogramBuckets = .requestDuration) {
        self.buckets = buckets
    }

    /// Records one answered request; `route` nil is an unknown path.
    func record(method: HTTPMethod, route: String?, status: Int, nanoseconds: UInt64) {
        let key = Key(method: method, route: route ?? Self.unmatchedRoute, status: status)
        let slot = buckets.slot(ofNanoseconds: nanoseconds)
        let slots = buckets.slotCount
        series.withLock { table in
            table[key, default: HistogramCounts(slots: slots)].add(slot: slot, nanoseconds: nanoseconds)
        }
    }

    /// Every series, in a stable order (route, method, status).
    func snapshot() -> [(key: Key, counts: HistogramCounts)] {
        let table = series.withLock { $0 }
        return table.map { (key: $0.key, counts: $0.value) }.sorted { a, b in
            (a.key.route, a.key.method.rawValue, a.key.status) < (b.key.route, b.key.method.rawValue, b.key.status)
        }
    }

    /// The `http.request.method` value of OpenTelemetry: the method, or `_OTHER`.
    static func methodLabel(_ method: HTTPMethod) -> String {
        method == .other ? "_OTHER" : method.rawValue
    }
}

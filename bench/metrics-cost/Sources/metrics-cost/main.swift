import FilmAPI
import Foundation
import Metrics
import Prometheus

// One "record" is what the metrics middleware does for one answered request: put its duration
// into the histogram series of its method, route template and status code. The requests cycle
// through a realistic mix of series, so lookups are not all of one hot key.

let iterations = Int(ProcessInfo.processInfo.environment["METRICS_COST_ITERATIONS"] ?? "") ?? 2_000_000
let durationName = "http_server_request_duration_seconds"
let series: [(method: HTTPMethod, route: String, status: Int)] = [
    (.GET, "/", 200), (.GET, "/films/{id}", 200), (.GET, "/films/{id}", 404), (.POST, "/films/{id}/like", 200),
    (.GET, "/films", 200), (.POST, "/add_film", 201), (.GET, "_unmatched", 404), (.HEAD, "/", 200),
]
let durations: [UInt64] = (0..<1024).map { _ in UInt64.random(in: 50_000...20_000_000) }
let bucketSeconds = HistogramBuckets.requestDuration.bounds
let bucketDurations = bucketSeconds.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }

/// A way of recording one request, built fresh for each measurement.
struct Option {
    let name: String
    let make: () -> @Sendable (Int) -> Void
}

let options: [Option] = [
    Option(name: "filmd exporter (lock + dictionary)") {
        let registry = MetricsRegistry()
        return { i in
            let s = series[i & 7]
            registry.requestDurations.record(method: s.method, route: s.route, status: s.status, nanoseconds: durations[i & 1023])
        }
    },
    Option(name: "filmd middleware's work (+ active gauge, clock read)") {
        let registry = MetricsRegistry()
        let started = ContinuousClock.now  // a request's context already holds its start
        return { i in
            let s = series[i & 7]
            registry.requestBegan()
            let elapsed = ContinuousClock.now - started
            let nanoseconds = UInt64(max(0, elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000))
            registry.requestEnded(method: s.method, route: s.route, status: s.status, nanoseconds: nanoseconds)
        }
    },
    Option(name: "swift-prometheus, histogram looked up per request") {
        let registry = PrometheusCollectorRegistry()
        nonisolated(unsafe) let descriptor = MetricNameDescriptor(metricName: "http_server_request_duration", unitName: "seconds", helpText: "Duration of HTTP server requests.")
        return { i in
            let s = series[i & 7]
            let labels = [("http_request_method", s.method.rawValue), ("http_route", s.route), ("http_response_status_code", String(s.status))]
            registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: bucketDurations)
                .record(.nanoseconds(Int64(durations[i & 1023])))
        }
    },
    Option(name: "swift-prometheus, histograms cached per series") {
        let registry = PrometheusCollectorRegistry()
        nonisolated(unsafe) let descriptor = MetricNameDescriptor(metricName: "http_server_request_duration", unitName: "seconds", helpText: "Duration of HTTP server requests.")
        let histograms = series.map { s in
            registry.makeDurationHistogram(descriptor: descriptor, labels: [("http_request_method", s.method.rawValue), ("http_route", s.route),
                                                                            ("http_response_status_code", String(s.status))], buckets: bucketDurations)
        }
        return { i in
            histograms[i & 7].record(.nanoseconds(Int64(durations[i & 1023])))
        }
    },
    Option(name: "swift-metrics Timer over swift-prometheus") {
        return { i in
            let s = series[i & 7]
            Metrics.Timer(label: durationName, dimensions: [("http_request_method", s.method.rawValue), ("http_route", s.route),
                                                            ("http_response_status_code", String(s.status))])
                .recordNanoseconds(Int64(durations[i & 1023]))
        }
    },
]

var factory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
factory.durationHistogramBuckets[durationName] = bucketDurations
MetricsSystem.bootstrap(factory)

/// Runs `record` `iterations` times on each of `threads` threads; returns ns per record.
func measure(_ option: Option, threads: Int) -> Double {
    let record = option.make()
    for i in 0..<10_000 { record(i) }  // warm-up: series exist, caches are hot
    let group = DispatchGroup()
    let start = ContinuousClock.now
    for thread in 0..<threads {
        group.enter()
        Thread {
            let offset = thread * 7919
            for i in 0..<iterations { record(i &+ offset) }
            group.leave()
        }.start()
    }
    group.wait()
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return seconds * 1e9 / Double(iterations * threads)
}

print("records per thread: \(iterations); \(series.count) series; \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("option".padding(toLength: 56, withPad: " ", startingAt: 0) + "  1 thread   2 threads (ns per record, wall time / records)")
for option in options {
    let one = measure(option, threads: 1)
    let two = measure(option, threads: 2)
    print(option.name.padding(toLength: 56, withPad: " ", startingAt: 0)
          + String(format: "  %7.1f   %7.1f", one, two))
}

// A recorder that dropped samples would measure nothing: the exporter keeps every one.
let check = MetricsRegistry()
for i in 0..<100_000 {
    let s = series[i & 7]
    check.requestDurations.record(method: s.method, route: s.route, status: s.status, nanoseconds: durations[i & 1023])
}
print("filmd exporter kept \(check.requestDurations.snapshot().reduce(0) { $0 + $1.counts.count }) of 100000 records")

import Testing
@testable import FilmAPI

/// The Prometheus text format as `MetricsRegistry` writes it.
@Suite struct MetricsExpositionTests {
    /// The sample lines of a scrape (no comments), for exact comparisons.
    static func samples(_ registry: MetricsRegistry) -> [String] {
        registry.exposition(process: nil).text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test func labelValuesEscapeBackslashQuoteAndLineFeed() {
        let registry = MetricsRegistry()
        registry.authFailure(reason: "a\"b\\c\nd")
        #expect(Self.samples(registry).contains(#"filmd_auth_failures_total{reason="a\"b\\c\nd"} 1"#))
    }

    @Test func helpTextEscapesBackslashAndLineFeedButNotQuotes() {
        #expect(ExpositionWriter.escapeHelp("a \"b\" \\ c\nd") == #"a "b" \\ c\nd"#)
        var out = ExpositionWriter()
        out.family("x_total", .counter, help: "one\ntwo")
        #expect(out.text == "# HELP x_total one\\ntwo\n# TYPE x_total counter\n")
    }

    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() {
        let registry = MetricsRegistry(buckets: HistogramBuckets([0.1, 1]))
        for milliseconds: UInt64 in [50, 100, 500, 2000] {
            registry.requestDurations.record(method: .GET, route: "/films/{id}", status: 200, nanoseconds: milliseconds * 1_000_000)
        }
        let labels = #"http_request_method="GET",http_route="/films/{id}",http_response_status_code="200""#
        let lines = Self.samples(registry).filter { $0.hasPrefix("http_server_request_duration_seconds") }
        #expect(lines == [
            "http_server_request_duration_seconds_bucket{\(labels),le=\"0.1\"} 2",
            "http_server_request_duration_seconds_bucket{\(labels),le=\"1.0\"} 3",
            "http_server_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} 4",
            "http_server_request_duration_seconds_sum{\(labels)} 2.65",
            "http_server_request_duration_seconds_count{\(labels)} 4",
        ])
    }

    @Test func defaultBucketsAreOpenTelemetrys() {
        #expect(HistogramBuckets.requestDuration.bounds == [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10])
        #expect(HistogramBuckets.requestDuration.slot(ofNanoseconds: 0) == 0)
        #expect(HistogramBuckets.requestDuration.slot(ofNanoseconds: 5_000_000) == 0)
        #expect(HistogramBuckets.requestDuration.slot(ofNanoseconds: 5_000_001) == 1)
        #expect(HistogramBuckets.requestDuration.slot(ofNanoseconds: 11_000_000_000) == 14)
    }

    @Test func seriesAreKeptApartByMethodRouteAndStatus() {
        let registry = MetricsRegistry(buckets: HistogramBuckets([1]))
        registry.requestDurations.record(method: .GET, route: "/films/{id}", status: 200, nanoseconds: 1)
        registry.requestDurations.record(method: .HEAD, route: "/films/{id}", status: 200, nanoseconds: 1)
        registry.requestDurations.record(method: .GET, route: "/films/{id}", status: 404, nanoseconds: 1)
        registry.requestDurations.record(method: .other, route: nil, status: 404, nanoseconds: 1)
        let counts = Self.samples(registry).filter { $0.hasPrefix("http_server_request_duration_seconds_count") }
        #expect(counts == [
            #"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/films/{id}",http_response_status_code="200"} 1"#,
            #"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/films/{id}",http_response_status_code="404"} 1"#,
            #"http_server_request_duration_seconds_count{http_request_method="HEAD",http_route="/films/{id}",http_response_status_code="200"} 1"#,
            #"http_server_request_duration_seconds_count{http_request_method="_OTHER",http_route="_unmatched",http_response_status_code="404"} 1"#,
        ])
    }

    @Test func everyFamilyIsPresentBeforeAnythingIsRecorded() {
        let text = MetricsRegistry().exposition(process: nil).text
        for (name, type) in [("http_server_request_duration_seconds", "histogram"), ("http_server_active_requests", "gauge"),
                             ("filmd_ratelimit_decisions_total", "counter"), ("filmd_ratelimit_tracked_clients", "gauge"),
                             ("filmd_auth_failures_total", "counter"), ("filmd_db_errors_total", "counter"),
                             ("filmd_build_info", "gauge")] {
            #expect(text.contains("# TYPE \(name) \(type)\n"), "\(name)")
            #expect(text.contains("# HELP \(name) "), "\(name)")
        }
        #expect(text.contains("\nhttp_server_active_requests 0\n"))
        #expect(text.contains("\nfilmd_ratelimit_tracked_clients 0.0\n"))
        #expect(text.contains("\nfilmd_build_info{version=\"\(BuildInfo.version)\",swift=\"\(BuildInfo.swift)\"} 1\n"))
        #expect(!text.contains("process_"))
    }

    @Test func rateLimitDecisionsAreCountedByPolicyAndDecision() {
        let registry = MetricsRegistry()
        registry.ratelimitDecision(policy: "hour", decision: "allowed")
        registry.ratelimitDecision(policy: "hour", decision: "allowed")
        registry.ratelimitDecision(policy: "second", decision: "rejected")
        #expect(Self.samples(registry).filter { $0.hasPrefix("filmd_ratelimit_decisions_total") } == [
            #"filmd_ratelimit_decisions_total{policy="hour",decision="allowed"} 2"#,
            #"filmd_ratelimit_decisions_total{policy="second",decision="rejected"} 1"#,
        ])
    }

    @Test func labelSetsPastTheBoundAreFoldedIntoOther() {
        let counter = LabelledCounter(name: "x_total", help: "x", labelNames: ["reason"], maxSeries: 2)
        for reason in ["a", "b", "c", "d", "a"] { counter.increment(reason) }
        #expect(counter.snapshot().map(\.labels) == [["_other"], ["a"], ["b"]])
        #expect(counter.snapshot().map(\.count) == [2, 2, 1])
    }

    @Test func aRegisteredGaugeSourceReplacesThePlaceholder() {
        let registry = MetricsRegistry()
        registry.registerGaugeSource(name: "filmd_ratelimit_tracked_clients", help: "Tracked keys.") { 42 }
        registry.registerGaugeSource(name: "filmd_extra", help: "Extra.") { 1.5 }
        let text = registry.exposition(process: nil).text
        #expect(text.contains("# HELP filmd_ratelimit_tracked_clients Tracked keys.\n"))
        #expect(text.contains("\nfilmd_ratelimit_tracked_clients 42.0\n"))
        #expect(text.components(separatedBy: "# TYPE filmd_ratelimit_tracked_clients").count == 2)
        #expect(text.contains("\nfilmd_extra 1.5\n"))
    }

    @Test func numbersAreSpelledAsTheFormatWants() {
        #expect(ExpositionWriter.number(.infinity) == "+Inf")
        #expect(ExpositionWriter.number(-.infinity) == "-Inf")
        #expect(ExpositionWriter.number(.nan) == "NaN")
        #expect(ExpositionWriter.number(1) == "1.0")
        #expect(ExpositionWriter.number(0.005) == "0.005")
    }

    @Test func metricNamesAreChecked() {
        #expect(ExpositionWriter.isValidMetricName("filmd_ratelimit_tracked_clients"))
        #expect(ExpositionWriter.isValidMetricName("ns:name_1"))
        #expect(!ExpositionWriter.isValidMetricName("1name"))
        #expect(!ExpositionWriter.isValidMetricName("a-b"))
        #expect(!ExpositionWriter.isValidMetricName(""))
    }

    @Test func concurrentRecordsAreAllKept() async {
        let registry = MetricsRegistry()
        let routes = ["/", "/films/{id}", "/films", "_unmatched"]
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<5_000 {
                        registry.requestBegan()
                        registry.requestEnded(method: i & 1 == 0 ? .GET : .HEAD, route: routes[(task + i) & 3], status: 200,
                                              nanoseconds: UInt64(i) * 1_000)
                        registry.ratelimitDecision(policy: "hour", decision: "allowed")
                    }
                }
            }
        }
        #expect(registry.requestDurations.snapshot().map(\.counts.count).reduce(0, +) == 40_000)
        #expect(registry.rateLimitDecisions.snapshot().map(\.count) == [40_000])
        #expect(registry.activeRequests == 0)
    }

    @Test func processMetricsAreReadFromProc() {
        let process = ProcessMetrics.read()
        #expect((process.residentMemoryBytes ?? 0) > 0)
        #expect((process.openFileDescriptors ?? 0) >= 3)
        #expect((process.cpuSeconds ?? -1) >= 0)
        #expect((ProcessMetrics.startTimeSeconds ?? 0) > 1_600_000_000)
        let text = MetricsRegistry().exposition(process: process).text
        #expect(text.contains("# TYPE process_resident_memory_bytes gauge\n"))
        #expect(text.contains("# TYPE process_cpu_seconds_total counter\n"))
    }
}

/// The scrape: every family of SPEC §5 in a fixed order, then the process metrics. Families
/// with nothing recorded yet still appear (help and type lines, no samples).
extension MetricsRegistry {
    static let requestDurationName = "http_server_request_duration_seconds"
    static let activeRequestsName = "http_server_active_requests"
    static let databaseErrorsName = "filmd_db_errors_total"
    static let buildInfoName = "filmd_build_info"

    static var reservedNames: Set<String> {
        [requestDurationName, activeRequestsName, databaseErrorsName, buildInfoName,
         "filmd_ratelimit_decisions_total", "filmd_auth_failures_total", "filmd_connections_refused_total",
         "filmd_ratelimit_storage_decisions_total", "filmd_ratelimit_storage_errors_total", "filmd_ratelimit_storage_fallbacks_total",
         RateLimitStorageMetrics.roundTripName, RateLimitStorageMetrics.breakersName]
    }

    func exposition(process: ProcessMetrics? = ProcessMetrics.read()) -> ExpositionWriter {
        var out = ExpositionWriter()
        out.family(Self.requestDurationName, .histogram, help: "Duration of HTTP server requests.")
        for (key, counts) in requestDurations.snapshot() {
            let labels = [("http_request_method", RequestDurations.methodLabel(key.method)),
                          ("http_route", key.route), ("http_response_status_code", String(key.status))]
            out.histogram(Self.requestDurationName, labels, buckets: requestDurations.buckets, counts: counts)
        }
        out.family(Self.activeRequestsName, .gauge, help: "Number of active HTTP server requests.")
        out.sample(Self.activeRequestsName, activeRequests)
        write(rateLimitDecisions, into: &out)
        write(authFailures, into: &out)
        write(connectionsRefused, into: &out)
        for counter in rateLimitStorage.counters { write(counter, into: &out) }
        rateLimitStorage.writeRoundTrips(into: &out)
        out.family(Self.databaseErrorsName, .counter, help: "Storage failures answered 503.")
        out.sample(Self.databaseErrorsName, DatabaseErrors.total)
        out.family(Self.buildInfoName, .gauge, help: "The running filmd: version and Swift compiler; always 1.")
        out.sample(Self.buildInfoName, labels: [("version", BuildInfo.version), ("swift", BuildInfo.swift)], 1)
        for gauge in gauges {
            out.family(gauge.name, .gauge, help: gauge.help)
            out.sample(gauge.name, gauge.value())
        }
        if let process { write(process, into: &out) }
        return out
    }

    private func write(_ counter: LabelledCounter, into out: inout ExpositionWriter) {
        out.family(counter.name, .counter, help: counter.help)
        for (labels, count) in counter.snapshot() {
            out.sample(counter.name, labels: Array(zip(counter.labelNames, labels)), count)
        }
    }

    private func write(_ process: ProcessMetrics, into out: inout ExpositionWriter) {
        let values: [(String, ExpositionWriter.MetricType, String, Double?)] = [
            ("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", process.cpuSeconds),
            ("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", process.residentMemoryBytes),
            ("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", process.virtualMemoryBytes),
            ("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.", ProcessMetrics.startTimeSeconds),
            ("process_open_fds", .gauge, "Number of open file descriptors.", process.openFileDescriptors),
            ("process_max_fds", .gauge, "Maximum number of open file descriptors.", process.maxFileDescriptors),
        ]
        for (name, type, help, value) in values {
            guard let value else { continue }
            out.family(name, type, help: help)
            out.sample(name, value)
        }
    }
}

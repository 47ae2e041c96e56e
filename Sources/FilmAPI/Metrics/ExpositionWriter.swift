/// The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines, then one
/// `name{label="value",...} number` line per sample. Label values escape `\`, `"` and line
/// feeds; help text escapes `\` and line feeds.
struct ExpositionWriter {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Starts a family: its help and type lines. A family may have no samples.
    mutating func family(_ name: String, _ type: MetricType, help: String) {
        append("# HELP \(name) \(Self.escapeHelp(help))\n")
        append("# TYPE \(name) \(type.rawValue)\n")
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: UInt64) {
        sample(name, labels: labels, rendered: String(value))
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Int) {
        sample(name, labels: labels, rendered: String(value))
    }

    mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: Double) {
        sample(name, labels: labels, rendered: Self.number(value))
    }

    /// A histogram's series: cumulative `_bucket` lines ending with `le="+Inf"`, then `_sum`
    /// (seconds) and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], buckets: HistogramBuckets, counts: HistogramCounts) {
        let cumulative = counts.cumulative
        for (index, label) in buckets.labels.enumerated() {
            sample(name + "_bucket", labels: labels + [("le", label)], cumulative[index])
        }
        sample(name + "_bucket", labels: labels + [("le", "+Inf")], counts.count)
        sample(name + "_sum", labels: labels, Double(counts.sumNanoseconds) / 1e9)
        sample(name + "_count", labels: labels, counts.count)
    }

    private mutating func sample(_ name: String, labels: [(String, String)], rendered value: String) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, (label, labelValue)) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label)
                append("=\"")
                append(Self.escapeLabelValue(labelValue))
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    static func escapeLabelValue(_ value: String) -> String {
        escape(value, quote: true)
    }

    static func escapeHelp(_ help: String) -> String {
        escape(help, quote: false)
    }

    private static func escape(_ text: String, quote: Bool) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || (quote && $0 == UInt8(ascii: "\"")) })
        else { return text }
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quote: out += "\\\""
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the format's metric name syntax.
    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { HTTPToken.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    /// A sample value or bucket bound as the format spells it: `+Inf`, `-Inf`, `NaN`, or the
    /// shortest decimal that reads back as the same double (`0.005`, `1.0`, `1e-05`).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }
}

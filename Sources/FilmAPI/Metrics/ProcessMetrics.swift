import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `process_*` metrics every Prometheus client library exports, read from `/proc` at
/// scrape time (nothing is recorded per request). A value that cannot be read is left out
/// of the scrape rather than reported as zero.
struct ProcessMetrics: Sendable {
    var residentMemoryBytes: Double?
    var virtualMemoryBytes: Double?
    var cpuSeconds: Double?
    var openFileDescriptors: Double?
    var maxFileDescriptors: Double?

    /// Seconds since the epoch when the process started; constant, so read once.
    static let startTimeSeconds: Double? = readStartTime()

    static func read() -> ProcessMetrics {
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var metrics = ProcessMetrics()
        if let statm = fields(of: "/proc/self/statm"), statm.count >= 2, let size = Double(statm[0]), let resident = Double(statm[1]) {
            metrics.virtualMemoryBytes = size * pageSize
            metrics.residentMemoryBytes = resident * pageSize
        }
        if let stat = statFields(), stat.count > 12, let user = Double(stat[11]), let system = Double(stat[12]) {
            metrics.cpuSeconds = (user + system) / ticks
        }
        metrics.openFileDescriptors = countEntries(of: "/proc/self/fd")
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { metrics.maxFileDescriptors = Double(limit.rlim_cur) }
        return metrics
    }

    /// `/proc/self/stat` after the command name (which may hold spaces): index 0 is field 3.
    private static func statFields() -> [Substring]? {
        guard let text = contents(of: "/proc/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    private static func readStartTime() -> Double? {
        guard let stat = statFields(), stat.count > 19, let startTicks = Double(stat[19]),
              let bootLine = contents(of: "/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(bootLine.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return bootTime + startTicks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func fields(of path: String) -> [Substring]? {
        contents(of: path).map { $0.split(whereSeparator: { $0 == " " || $0 == "\n" }) }
    }

    private static func contents(of path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Entries of a directory, without `.`, `..` and the descriptor that reads it.
    private static func countEntries(of path: String) -> Double? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return Double(count - 1)
    }
}

/// One limit of flask-limiter's string syntax: `50 per hour`, `50/hour`, `10 per 2 minutes`.
struct RateLimitRule: Sendable, Equatable, CustomStringConvertible {
    var count: Int
    /// The window length in seconds.
    var window: Int
    /// The window's name in headers: `second`, `hour`, `2minutes`, ...
    var name: String

    var description: String { "\(count) per \(name)" }

    /// The longest window: the limiter keeps times as nanoseconds in an `Int64` and a counter runs
    /// up to two windows ahead of the clock, so 100 years (3.2e18 ns) leaves room for 90 years
    /// of uptime; `1 per 300 years` would overflow.
    static let maxWindowSeconds = 100 * 365 * 86400

    static let units: [(names: [String], seconds: Int)] = [
        (["second", "seconds", "s"], 1), (["minute", "minutes", "m"], 60), (["hour", "hours", "h"], 3600),
        (["day", "days", "d"], 86400), (["month", "months"], 30 * 86400), (["year", "years"], 365 * 86400),
    ]

    /// Parses `"200 per day; 50 per hour"` (`;` or `,` between limits); an empty string is no limit.
    static func parseList(_ text: String) -> [RateLimitRule]? {
        var rules: [RateLimitRule] = []
        for part in text.split(whereSeparator: { $0 == ";" || $0 == "," }) {
            let trimmed = part.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let rule = parse(trimmed) else { return nil }
            rules.append(rule)
        }
        return rules
    }

    /// Parses one limit; nil when it is not one (a window over `maxWindowSeconds` included).
    static func parse(_ text: String) -> RateLimitRule? {
        let words = text.lowercased().replacingSlash().split(separator: " ").map(String.init)
        guard words.count == 3 || words.count == 4, words[1] == "per",
              let count = Int(words[0]), count > 0, count <= 1_000_000_000 else { return nil }
        let multiplier = words.count == 4 ? Int(words[2]) : 1
        guard let multiplier, multiplier > 0, multiplier <= 1000,
              let unit = units.first(where: { $0.names.contains(words[words.count - 1]) }) else { return nil }
        let base = unit.names[0]
        guard unit.seconds * multiplier <= maxWindowSeconds else { return nil }
        return RateLimitRule(count: count, window: unit.seconds * multiplier,
                             name: multiplier == 1 ? base : "\(multiplier)\(base)s")
    }
}

extension String {
    /// `50/hour` → `50 per hour`, and runs of spaces folded.
    fileprivate func replacingSlash() -> String {
        split(separator: "/", omittingEmptySubsequences: false).joined(separator: " per ")
            .split(separator: " ").joined(separator: " ")
    }
}

/// A counter family with one or two labels whose values the caller supplies (a rate-limit
/// policy and decision, an authentication failure reason). Callers pass values from a fixed
/// vocabulary; as a guard, past `maxSeries` label sets a new one is counted as `_other`, so a
/// bug can never grow the exposition without bound.
final class LabelledCounter: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    let maxSeries: Int

    /// The label values of one series (the second is unused by one-label families).
    struct Values: Hashable, Sendable {
        var first: String
        var second: String
    }

    static let overflow = "_other"

    private let counts = Locked<[Values: UInt64]>([:])
    /// When set, the series are read from their owner at scrape time instead.
    private let source = Locked<(@Sendable () -> [(labels: [String], count: UInt64)])?>(nil)

    init(name: String, help: String, labelNames: [String], maxSeries: Int = 64) {
        precondition((1...2).contains(labelNames.count), "a labelled counter has one or two labels")
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.maxSeries = maxSeries
    }

    func increment(_ first: String, _ second: String = "") {
        var values = Values(first: first, second: labelNames.count == 2 ? second : "")
        counts.withLock { table in
            if table[values] == nil, table.count >= maxSeries {
                values = Values(first: Self.overflow, second: labelNames.count == 2 ? Self.overflow : "")
            }
            table[values, default: 0] &+= 1
        }
    }

    /// Reads the series from the component that counts them (the rate limiter, authentication)
    /// at each scrape, replacing `increment`.
    func read(from owner: @escaping @Sendable () -> [(labels: [String], count: UInt64)]) {
        source.withLock { $0 = owner }
    }

    /// Every series as (label values in `labelNames` order, count), sorted by label values.
    func snapshot() -> [(labels: [String], count: UInt64)] {
        if let owner = source.withLock({ $0 }) {
            return owner().sorted { $0.labels.lexicographicallyPrecedes($1.labels) }
        }
        return counts.withLock { $0 }
            .map { (labels: labelNames.count == 2 ? [$0.key.first, $0.key.second] : [$0.key.first], count: $0.value) }
            .sorted { $0.labels.lexicographicallyPrecedes($1.labels) }
    }
}

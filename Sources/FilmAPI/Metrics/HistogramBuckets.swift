/// The upper bounds of a histogram's buckets, in seconds, with their `le` label values
/// rendered once. Samples are counted in nanoseconds, so a bucket is found with integer
/// comparisons and the sum stays exact.
struct HistogramBuckets: Sendable {
    let bounds: [Double]
    let nanoseconds: [UInt64]
    let labels: [String]

    init(_ bounds: [Double]) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy(<), "bucket bounds must increase")
        self.bounds = bounds
        nanoseconds = bounds.map { UInt64(($0 * 1e9).rounded()) }
        labels = bounds.map(ExpositionWriter.number)
    }

    /// OpenTelemetry's advised boundaries for `http.server.request.duration` (HTTP semantic
    /// conventions): 5 ms to 10 s.
    static let requestDuration = HistogramBuckets([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10])

    /// The number of counters a series keeps: one per bound plus one above the last (`+Inf`).
    var slotCount: Int { bounds.count + 1 }

    /// The first bucket whose bound is at least `value` (`le` is inclusive); `bounds.count`
    /// when the value is above every bound.
    func slot(ofNanoseconds value: UInt64) -> Int {
        var index = 0
        while index < nanoseconds.count, value > nanoseconds[index] { index += 1 }
        return index
    }
}

/// One histogram's counts: per bucket (not cumulative; the exposition accumulates them), the
/// number of samples and their sum.
struct HistogramCounts: Sendable, Equatable {
    private(set) var perSlot: [UInt64]
    private(set) var count: UInt64 = 0
    private(set) var sumNanoseconds: UInt64 = 0

    init(slots: Int) { perSlot = Array(repeating: 0, count: slots) }

    mutating func add(slot: Int, nanoseconds: UInt64) {
        perSlot[slot] &+= 1
        count &+= 1
        sumNanoseconds &+= nanoseconds
    }

    /// The cumulative count of each bucket, `+Inf` last (equal to `count`).
    var cumulative: [UInt64] {
        var running: UInt64 = 0
        return perSlot.map { running &+= $0; return running }
    }
}

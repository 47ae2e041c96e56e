/// When a Redis connection is worth trying (SPEC §9): closed while Redis answers; a failure
/// opens it for a backoff that doubles with each failed probe up to a cap; at the end of the
/// backoff one probe goes out while requests keep falling back; the probe's success closes
/// it. Plain state, no clock of its own: times are monotonic nanoseconds given by the caller.
struct RedisBreaker: Equatable {
    enum State: Equatable {
        case closed
        case open(until: Int64)
        case probing
    }

    static let firstBackoff: Int64 = 50_000_000
    static let maxBackoff: Int64 = 2_000_000_000

    private(set) var state = State.closed
    private(set) var backoff = firstBackoff

    /// Requests may go to Redis.
    var isClosed: Bool { state == .closed }

    /// A failure: opens the breaker (true when it was closed: worth a log line), or doubles the
    /// backoff after a failed probe. Returns when the next probe is due.
    mutating func failed(now: Int64) -> (opened: Bool, probeAt: Int64) {
        let opened = state == .closed
        if !opened, state == .probing { backoff = min(backoff * 2, Self.maxBackoff) }
        if opened { backoff = Self.firstBackoff }
        let until = now + backoff
        state = .open(until: until)
        return (opened, until)
    }

    /// The backoff is over: a probe is going out.
    mutating func probing() { state = .probing }

    /// A probe (or any command) succeeded: true when that closes an open breaker.
    mutating func succeeded() -> Bool {
        defer { state = .closed; backoff = Self.firstBackoff }
        return state != .closed
    }
}

/// The generic cell rate algorithm (a token bucket stored as one instant): a client's state
/// for one policy is its theoretical arrival time (TAT), the instant at which its bucket
/// would be full again. A request at `now` conforms when, after adding one emission
/// interval `T = w / q`, the TAT is at most one window ahead of `now`.
///
/// Memory: one `Int64` per client per policy. Worst-case overshoot: a client idle for a
/// window may send `q` at once and then one every `T`, so any window of length `w` holds at
/// most `2q - 1` of its requests; over any longer span the rate never exceeds `q / w`.
enum GCRA {
    struct Outcome: Equatable {
        var conforms: Bool
        /// The TAT to store when the request is admitted.
        var newTAT: Int64
        /// Requests left after admitting this one (when it conforms), else left now (0).
        var remaining: Int
        /// Nanoseconds until the bucket is full again, after this request if admitted.
        var reset: Int64
        /// Nanoseconds until this request would conform (0 when it does).
        var wait: Int64
    }

    static func evaluate(tat: Int64, now: Int64, policy: RateLimitPolicy) -> Outcome {
        let base = max(tat, now)
        let newTAT = base + policy.interval
        let ahead = newTAT - now
        if ahead <= policy.windowNanoseconds {
            let remaining = Int((policy.windowNanoseconds - ahead) / policy.interval)
            return Outcome(conforms: true, newTAT: newTAT, remaining: remaining, reset: ahead, wait: 0)
        }
        // Not conforming means less than one interval is left: nothing remains.
        return Outcome(conforms: false, newTAT: tat, remaining: 0, reset: base - now, wait: ahead - policy.windowNanoseconds)
    }
}

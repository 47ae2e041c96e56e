/// One limit as the limiter applies it: a quota of `quota` requests per `window` seconds,
/// with the name it has in the `RateLimit` and `RateLimit-Policy` headers and in metrics.
struct RateLimitPolicy: Sendable, Equatable {
    /// The policy's name in headers and metric labels: `hour`, `second`, `app-hour`, `auth-minute`.
    let name: String
    /// `q`: requests allowed per window.
    let quota: Int
    /// `w`: the window, in seconds.
    let window: Int

    /// The window in nanoseconds.
    let windowNanoseconds: Int64
    /// GCRA's emission interval: one request's worth of the window, in nanoseconds.
    let interval: Int64
    /// How far ahead of now a counter's arrival time may be for one more request to conform
    /// (`w − T`): a client is over this policy while its arrival time is further ahead.
    var lead: Int64 { windowNanoseconds - interval }

    init(name: String, quota: Int, window: Int) {
        self.name = name
        self.quota = quota
        self.window = window
        windowNanoseconds = Int64(window) * 1_000_000_000
        interval = max(1, windowNanoseconds / Int64(quota))
    }

    init(name: String, rule: RateLimitRule) {
        self.init(name: name, quota: rule.count, window: rule.window)
    }
}

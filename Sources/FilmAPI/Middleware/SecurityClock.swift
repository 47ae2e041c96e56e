#if canImport(Glibc)
import Glibc
#endif

/// The two times the security chain reads, injected so that tests set them: a monotonic
/// clock in nanoseconds for rate limits (never jumps), and Unix seconds for key expiry.
struct SecurityClock: Sendable {
    var monotonicNanoseconds: @Sendable () -> Int64
    var unixSeconds: @Sendable () -> Int64

    init(monotonicNanoseconds: @escaping @Sendable () -> Int64, unixSeconds: @escaping @Sendable () -> Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.unixSeconds = unixSeconds
    }

    static let system = SecurityClock(
        monotonicNanoseconds: {
            var spec = timespec()
            clock_gettime(CLOCK_MONOTONIC, &spec)
            return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
        },
        unixSeconds: { Int64(time(nil)) })
}

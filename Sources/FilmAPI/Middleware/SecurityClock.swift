#if canImport(Glibc)
import Glibc
#endif

/// The two times the security chain reads, injected so that tests set them: a monotonic
/// clock in nanoseconds for rate limits (never jumps), and Unix seconds for key expiry.
public struct SecurityClock: Sendable {
    public var monotonicNanoseconds: @Sendable () -> Int64
    public var unixSeconds: @Sendable () -> Int64

    public init(monotonicNanoseconds: @escaping @Sendable () -> Int64, unixSeconds: @escaping @Sendable () -> Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.unixSeconds = unixSeconds
    }

    public static let system = SecurityClock(
        monotonicNanoseconds: {
            var spec = timespec()
            clock_gettime(CLOCK_MONOTONIC, &spec)
            return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
        },
        unixSeconds: { Int64(time(nil)) })
}

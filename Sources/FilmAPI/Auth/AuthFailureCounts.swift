import Foundation

/// Failed authentications by reason, for `filmd_auth_failures_total{reason}`.
final class AuthFailureCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts = [Int](repeating: 0, count: AuthFailure.allCases.count)

    init() {}

    func record(_ failure: AuthFailure) {
        guard let index = AuthFailure.allCases.firstIndex(of: failure) else { return }
        lock.lock()
        counts[index] += 1
        lock.unlock()
    }

    /// Every reason with its count (zeros included, so the series exist from the start).
    var snapshot: [(reason: AuthFailure, count: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return Array(zip(AuthFailure.allCases, counts))
    }
}

import Foundation

/// A value behind an `NSLock`. The metrics take it for a few nanoseconds per request;
/// DESIGN.md records a ThreadSanitizer report on `Synchronization.Mutex` that `NSLock` did not
/// show, so the metrics use the lock TSan is known to understand here.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

import Foundation

/// When keys were last used, gathered cheaply on the event loop and written in batches off
/// it: a key's use is queued at most once a minute, and `KeyRefresher` drains the queue into
/// one transaction. Memory: one entry per key that authenticated since the process started.
final class KeyUsage: @unchecked Sendable {
    /// A key's `last_used_at` is at most this many seconds behind its real last use (plus the
    /// refresher's interval).
    static let resolution: Int64 = 60

    private let lock = NSLock()
    private var queued: [String: Int64] = [:]
    private var pending: [String: Int64] = [:]

    init() {}

    /// Records a use of `id` at `now` (Unix seconds). Event loop; a lookup and rarely a store.
    func touch(_ id: String, now: Int64) {
        lock.lock()
        defer { lock.unlock() }
        if let last = queued[id], now - last < Self.resolution { return }
        queued[id] = now
        pending[id] = now
    }

    /// Takes the uses to write.
    func drain() -> [String: Int64] {
        lock.lock()
        defer { lock.unlock() }
        let taken = pending
        pending.removeAll()
        return taken
    }

    /// Puts back uses that could not be written, keeping the later time of each key.
    func restore(_ uses: [String: Int64]) {
        lock.lock()
        defer { lock.unlock() }
        pending.merge(uses) { max($0, $1) }
    }
}

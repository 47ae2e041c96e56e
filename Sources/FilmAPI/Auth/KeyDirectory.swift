import Foundation

/// The keys the server knows, by id: a snapshot read on every authenticated request and
/// replaced whole when the database changes (see `KeyRefresher`).
final class KeyDirectory: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: APIKey]

    init(_ keys: [APIKey] = []) {
        self.keys = Self.index(keys)
    }

    func replace(with keys: [APIKey]) {
        let fresh = Self.index(keys)
        lock.lock()
        self.keys = fresh
        lock.unlock()
    }

    func key(id: String) -> APIKey? {
        lock.lock()
        defer { lock.unlock() }
        return keys[id]
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
    }

    private static func index(_ keys: [APIKey]) -> [String: APIKey] {
        Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

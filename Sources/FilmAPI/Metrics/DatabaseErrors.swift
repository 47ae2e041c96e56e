import Synchronization

/// `filmd_db_errors_total`: storage failures answered 503.
enum DatabaseErrors {
    private static let counter = Atomic<Int>(0)

    static func record() { counter.wrappingAdd(1, ordering: .relaxed) }

    static var total: Int { counter.load(ordering: .relaxed) }
}

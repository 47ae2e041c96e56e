import Synchronization

/// `filmd_db_errors_total`: storage failures answered 503.
public enum DatabaseErrors {
    private static let counter = Atomic<Int>(0)

    public static func record() { counter.wrappingAdd(1, ordering: .relaxed) }

    public static var total: Int { counter.load(ordering: .relaxed) }
}

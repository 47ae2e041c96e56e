import Logging
import Synchronization

/// The running log level, shared by every logger and the request log, so that a reload
/// (SIGHUP) changes it everywhere at once.
public final class LogLevelControl: Sendable {
    private let raw: Atomic<Int>
    private static let levels = Logger.Level.allCases

    public init(_ level: Logger.Level) { raw = Atomic(Self.levels.firstIndex(of: level) ?? 2) }

    var level: Logger.Level {
        get { Self.levels[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.levels.firstIndex(of: newValue) ?? 2, ordering: .relaxed) }
    }

    /// Whether a message at `level` is written.
    func allows(_ level: Logger.Level) -> Bool { level >= self.level }
}

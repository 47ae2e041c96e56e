import Foundation
import Synchronization

/// Copies the WAL back into the database file from a thread and a connection of its own.
/// SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold and fsyncs
/// there, stalling every write behind it; a PASSIVE checkpoint from elsewhere blocks no writer
/// and no reader.
///
/// Starting the WAL over is the store's part (`restartIfDue`): under steady writes this thread
/// never finds the writer out of the WAL, so a RESTART from here waits or fails. Once the WAL
/// is past `restartFrames`, this thread pauses and asks the store, which, between two
/// batches, copies the little added since and lets the next write start the WAL over.
final class WALCheckpointer: Sendable {
    static let interval: TimeInterval = 0.1
    /// WAL frames past which the WAL is started over (16 MiB of 1 KiB pages). A restart holds
    /// up one batch of writes, for longer the larger the WAL: p99 of likes 12-15 ms at 16 MiB,
    /// 30 ms at 64 MiB (at 4 MiB no better, and fewer likes per second).
    static let restartFrames: Int32 = 16_384

    /// Passes over the WAL before asking for a restart, and the frames written during a pass
    /// that are few enough to stop early. Likes at 26k/s: a restart held writes up 6-11 ms
    /// after one pass, 2-6 ms after up to six (p99 16 -> 11 ms).
    static let catchUpPasses = 6
    static let shortTail: Int32 = 256

    private let restartWanted = Atomic<Bool>(false)
    private let closing = Atomic<Bool>(false)
    /// Signalled by `close()` to cut the wait between two rounds short, and by the thread as it ends.
    private let wake = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)

    init(path: String) throws {
        _ = try SQLiteConnection(path: path)  // fail at start, not silently in the thread
        let thread = Thread { [self] in
            defer { ended.signal() }
            guard let connection = try? SQLiteConnection(path: path) else { return }  // opened a moment ago
            defer { connection.close() }
            connection.setBusyTimeout(milliseconds: 100)
            // A connection knows the database is in WAL mode only once it has read it; until
            // then every checkpoint is a silent no-op (-1 frames).
            try? connection.execute("PRAGMA journal_mode = WAL")
            while wake.wait(timeout: .now() + Self.interval) == .timedOut, !closing.load(ordering: .acquiring) {
                guard !restartWanted.load(ordering: .acquiring) else { continue }
                do {
                    var wal = try connection.checkpoint(.passive)
                    guard wal.frames > Self.restartFrames else { continue }
                    // Catch up before asking: each pass copies what arrived during the one
                    // before, so the store's RESTART, which holds up writes while it copies
                    // and syncs, finds only a short tail.
                    for _ in 0..<Self.catchUpPasses {
                        let next = try connection.checkpoint(.passive)
                        let arrived = next.frames - wal.frames  // written during the pass before
                        wal = next
                        if arrived <= Self.shortTail { break }
                    }
                    restartWanted.store(true, ordering: .releasing)
                } catch {
                    continue  // busy: the next round tries again; the WAL is durable meanwhile
                }
            }
        }
        thread.name = "filmd-checkpoint"
        thread.start()
    }

    /// Ends the thread (after the round under way, if any) and closes its connection; returns
    /// once it has. Once only.
    func close() {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        ended.wait()
    }

    /// Called by the store between batches, on its own connection.
    func restartIfDue(_ connection: SQLiteConnection) {
        guard restartWanted.load(ordering: .acquiring) else { return }
        // Each request is tried once: the checkpointer copies on and asks again 100 ms later.
        // Waiting out a long reader (a `filmd export` of the same file) would hold up every
        // write, so the store gives up after 2 ms.
        defer { restartWanted.store(false, ordering: .releasing) }
        connection.setBusyTimeout(milliseconds: 2)
        defer { connection.setBusyTimeout(milliseconds: SQLiteConnection.busyTimeoutMilliseconds) }
        _ = try? connection.checkpoint(.restart)
    }
}

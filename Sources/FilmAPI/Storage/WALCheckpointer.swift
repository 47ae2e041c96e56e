import Foundation

/// Copies the WAL back into the database file from a thread and a connection of its own.
/// SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold and fsyncs
/// there, stalling every write behind it; a PASSIVE checkpoint from elsewhere blocks no writer
/// and no reader. (Resetting the WAL to its start is the store's job: see `FilmDatabase.restartWALIfLarge`.)
enum WALCheckpointer {
    static let interval: TimeInterval = 0.1

    static func start(path: String) throws {
        _ = try SQLiteConnection(path: path)  // fail at start, not silently in the thread
        let thread = Thread {
            guard let connection = try? SQLiteConnection(path: path) else { return }  // opened a moment ago
            connection.setBusyTimeout(milliseconds: 100)
            while true {
                Thread.sleep(forTimeInterval: interval)
                do {
                    _ = try connection.checkpoint(.passive)
                } catch {
                    continue  // busy: the next round tries again; the WAL is durable meanwhile
                }
            }
        }
        thread.name = "filmd-checkpoint"
        thread.start()
    }
}

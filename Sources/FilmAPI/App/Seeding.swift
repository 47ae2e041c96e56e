import Foundation
import Logging

/// `database.seed_csv`: sample films for an empty catalogue, loaded before the server listens.
enum Seeding {
    static func seedIfEmpty(_ store: SQLiteFilmStore, from path: String?, logger: Logger) throws {
        try seedIfEmpty(from: path, logger: logger) { films in try waitFor { try await store.seed(films) } }
    }

    /// `seed` stores the films when the catalogue is empty and says how many it stored.
    static func seedIfEmpty(from path: String?, logger: Logger, _ seed: ([FilmImport.Row]) throws -> Int) throws {
        guard let path else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            logger.warning("seed file not readable; starting without sample films", metadata: ["file.path": .string(path)])
            return
        }
        let films = try FilmImport.parse(String(decoding: data, as: UTF8.self), format: .csv)
        let loaded = try seed(films)
        if loaded > 0 { logger.info("catalogue seeded", metadata: ["films.count": .stringConvertible(loaded), "file.path": .string(path)]) }
    }

    /// Runs async work from synchronous start-up or shutdown code (no event loop running).
    static func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Box<Result<T, any Error>?>(nil)
        Task {
            do { outcome.value = .success(try await work()) } catch { outcome.value = .failure(error) }
            done.signal()
        }
        done.wait()
        return try outcome.value!.get()
    }
}

/// A value handed back from a task to a thread that waits for it.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

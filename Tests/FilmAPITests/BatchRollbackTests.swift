import Foundation
import Testing
@testable import FilmAPI

/// A batch's transaction that SQLite rolls back by itself half-way (here a write that spills
/// pages onto a failing disk): each write of the batch must be answered with what happened to
/// it. A write answered with success is in the file; one answered with an error is not.
@Suite struct BatchRollbackTests {
    let files = TemporaryDatabases("rollback")
    var path: String { files.path }

    /// Writes more than the page cache holds while the WAL's disk fails: the spill fails and
    /// SQLite rolls the whole transaction back (SQLITE_IOERR), not only this statement (on a
    /// full disk, SQLITE_FULL, it rolls back the statement alone).
    static func spillOntoAFailingDisk(_ database: FilmDatabase) throws -> Int {
        let connection = database.connection
        try connection.execute("PRAGMA cache_size = 10")
        connection.failWALWrites(after: 0, as: .ioError)
        defer { connection.failWALWrites(after: -1) }
        do {
            try connection.execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                INSERT INTO films (name, studio) SELECT printf('%0200d', i), 'S' FROM n
                """)
        } catch {
            try connection.execute("PRAGMA cache_size = -2000")
            throw error
        }
        return 0
    }

    @Test func everyWriteOfARolledBackBatchIsAnsweredWithWhatHappenedToIt() async throws {
        let store = try files.store()
        let films = [try await store.add(FilmInput(name: "A", studio: "S", year: nil)),
                     try await store.add(FilmInput(name: "B", studio: "S", year: nil))]
        let queue = RecordingQueue()
        let answers = Locked<[String: Bool]>([:])
        let held = DispatchSemaphore(value: 0)
        store.onStoreThread { held.wait() }  // the three writes below queue up behind this: one batch
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            @Sendable func answered(_ write: String, _ succeeded: Bool) {
                if answers.withLock({ $0[write] = succeeded; return $0.count }) == 3 { finished.resume() }
            }
            store.vote(.like, film: films[0].id, completion: Completion(on: queue) { answered("before", (try? $0.get()) != nil) })
            store.write(Self.spillOntoAFailingDisk, completion: Completion(on: queue) { answered("spill", (try? $0.get()) != nil) })
            store.vote(.like, film: films[1].id, completion: Completion(on: queue) { answered("after", (try? $0.get()) != nil) })
            held.signal()
        }
        let reader = try files.reader()
        let inTheFile = ["before": try reader.film(id: films[0].id).ready()?.likes == 1,
                         "after": try reader.film(id: films[1].id).ready()?.likes == 1,
                         "spill": try files.catalogue().count() > 2]
        let told = answers.withLock { $0 }
        #expect(told == inTheFile, "answered \(told), in the file \(inTheFile)")
        #expect(told["spill"] == false)
        // The store goes on: the next batch commits.
        #expect(try await store.vote(.like, film: films[1].id)?.likes == (inTheFile["after"] == true ? 2 : 1))
        #expect(try reader.film(id: films[1].id).ready()?.likes == (inTheFile["after"] == true ? 2 : 1))
    }
}

import Foundation
import Testing
@testable import FilmAPI

@Suite struct SQLiteFilmStoreTests {
    let files = TemporaryDatabases("store")
    var path: String { files.path }

    func store() throws -> SQLiteFilmStore { try files.store() }
    /// A reader on the same file, as an event loop has.
    func reader() throws -> SQLiteFilmReader { try files.reader() }

    @Test func addGetVoteUpdateDelete() async throws {
        let store = try store()
        #expect(try reader().randomFilm().ready() == nil)
        let film = try await store.add(FilmInput(name: "Frozen", studio: "Disney", year: 2013))
        #expect(film.id == 1 && film.likes == 0)
        #expect(try reader().film(id: 1).ready() == film)
        #expect(try await store.vote(.like, film: 1)?.likes == 1)
        #expect(try await store.vote(.dislike, film: 1)?.dislikes == 1)
        #expect(try await store.vote(.like, film: 99) == nil)
        let patched = try await store.update(id: 1, with: FilmPatch(name: "Frozen II", studio: nil, year: .some(nil)))
        #expect(patched?.name == "Frozen II" && patched?.studio == "Disney" && patched?.year == nil)
        #expect(try await store.delete(id: 1))
        #expect(try await !store.delete(id: 1))
        #expect(try reader().randomFilm().ready() == nil)
    }

    /// The random pick and the lookup by id read the index, never the table: a query with both
    /// min() and max() once made SQLite scan every row on each GET / (20 times slower at 10 000 films).
    @Test func randomAndByIDReadsScanNoTable() async throws {
        let store = try store()
        for index in 0..<100 { _ = try await store.add(FilmInput(name: "Film \(index)", studio: "S", year: nil)) }
        #expect(try await store.delete(id: 50))
        let database = files.closing(try FilmDatabase(path: path, durability: .normal, readOnly: true)) { $0.close() }
        for _ in 0..<50 { #expect(try database.randomFilm() != nil) }
        #expect(try database.film(id: 7)?.id == 7)
        #expect(database.connection.fullScanSteps == 0)
    }

    @Test func newDatabasesUseSmallPagesAndOldOnesKeepTheirs() async throws {
        _ = try store()
        #expect(try files.connection().scalar("PRAGMA page_size") == 1024)
        // A database made with 4 KiB pages (before filmd chose 1 KiB) opens and works as it is.
        let old = files.file("old.db")
        let setup = try files.connection(old)
        try setup.execute("PRAGMA page_size = 4096")
        try setup.execute("PRAGMA journal_mode = WAL")
        let store = try files.store(at: old)
        _ = try await store.add(FilmInput(name: "A", studio: "S", year: nil))
        #expect(try files.connection(old).scalar("PRAGMA page_size") == 4096)
        #expect(try await store.vote(.like, film: 1)?.likes == 1)
    }

    @Test func theCheckpointerCopiesTheWALIntoTheDatabaseFile() async throws {
        let store = try store()
        for index in 0..<50 { _ = try await store.add(FilmInput(name: "F\(index)", studio: "S", year: nil)) }
        try await Task.sleep(for: .milliseconds(500))  // the checkpointer runs every 100 ms
        // The database file alone, without its WAL: only what a checkpoint copied is in it.
        let copy = files.file("file-only.db")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        #expect(try files.connection(copy).scalar("SELECT count(*) FROM films") == 50)
    }

    @Test func idsAreNeverReused() async throws {
        let store = try store()
        let first = try await store.add(FilmInput(name: "A", studio: "S", year: nil))
        _ = try await store.delete(id: first.id)
        #expect(try await store.add(FilmInput(name: "B", studio: "S", year: nil)).id == first.id + 1)
    }

    @Test func concurrentVotesAreAllCounted() async throws {
        let store = try store()
        let film = try await store.add(FilmInput(name: "A", studio: "S", year: nil))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<500 { group.addTask { _ = try await store.vote(.like, film: film.id) } }
            try await group.waitForAll()
        }
        #expect(try reader().film(id: film.id).ready()?.likes == 500)
        // A second connection (another process, say) sees them committed.
        #expect(try files.catalogue().count() == 1)
    }

    /// The event loops' path: a write's completion runs once, on the queue it names, after the
    /// COMMIT (another connection already sees the vote), and the completions of one batch
    /// reach each queue as a single job.
    @Test func callbackWritesCompleteOnTheirQueueAfterTheCommit() async throws {
        let store = try store()
        let film = try await store.add(FilmInput(name: "A", studio: "S", year: nil))
        let otherConnection = try reader()
        let queues = [RecordingQueue(), RecordingQueue()]
        let outcomes = Locked<[String]>([])
        let held = DispatchSemaphore(value: 0)
        store.onStoreThread { held.wait() }  // the 100 writes below queue up behind this: one batch
        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            for index in 0..<100 {
                let queue = queues[index % 2]
                store.vote(.like, film: film.id, completion: Completion(on: queue) { result in
                    let committed = (try? otherConnection.film(id: film.id).ready()?.likes) ?? -1
                    let outcome = "\(queue.isRunning) \(committed) \((try? result.get())??.likes ?? -1)"
                    if outcomes.withLock({ $0.append(outcome); return $0.count }) == 100 { finished.resume() }
                })
            }
            held.signal()
        }
        let all = outcomes.withLock { $0 }
        #expect(all.count == 100)
        #expect(all.allSatisfy { $0.hasPrefix("true 100 ") }, "\(all.prefix(3))")
        #expect(Set(all.map { $0.split(separator: " ")[2] }).count == 100, "each vote saw its own count")
        #expect(queues.map(\.jobs) == [1, 1])
    }

    /// GET /?like=: the vote and a film picked after it, from the store's own connection, once
    /// committed; an unknown id records nothing and picks nothing.
    @Test func aVoteAndItsPickArriveTogetherAfterTheCommit() async throws {
        let store = try store()
        let films = [try await store.add(FilmInput(name: "A", studio: "S", year: nil)),
                     try await store.add(FilmInput(name: "B", studio: "S", year: nil))]
        let otherConnection = try reader()
        let queue = RecordingQueue()
        func voteAndPick(_ id: Int64) async -> (VotedAndPicked?, Int64?) {
            await withCheckedContinuation { continuation in
                store.voteAndPickRandom(.like, film: id, completion: Completion(on: queue) { result in
                    continuation.resume(returning: ((try? result.get()), try? otherConnection.film(id: films[0].id).ready()?.likes))
                })
            }
        }
        let (outcome, committedLikes) = await voteAndPick(films[0].id)
        #expect(outcome?.voted?.likes == 1 && committedLikes == 1)
        let picked = try #require(outcome?.picked)
        #expect(try otherConnection.film(id: picked.id).ready() == picked, "the pick is a stored film as committed")
        let (missing, _) = await voteAndPick(99)
        #expect(missing?.voted == nil && missing?.picked == nil)
        #expect(try films.map { try otherConnection.film(id: $0.id).ready()?.likes } == [1, 0])
        #expect(queue.jobs == 2)
    }

    /// A transaction's WAL frames reach the file in one write (wal_writes.c): every
    /// acknowledged write must be visible to another connection at once, through many
    /// batches, checkpoints and WAL restarts, and the file must stay sound.
    @Test func acknowledgedWritesAreVisibleToOtherConnectionsAtOnce() async throws {
        let store = try store()
        let reader = try reader()
        var films: [Film] = []
        for index in 0..<40 { films.append(try await store.add(FilmInput(name: "Film \(index)", studio: "S", year: nil))) }
        for round in 1...60 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for film in films { group.addTask { _ = try await store.vote(.like, film: film.id) } }
                try await group.waitForAll()
            }
            let seen = try films.map { try reader.film(id: $0.id).ready()?.likes }
            #expect(seen.allSatisfy { $0 == Int64(round) }, "round \(round): \(seen)")
            if round % 20 == 0 { _ = try files.connection().checkpoint(.restart) }
        }
        let check = try files.connection().prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
    }

    /// One transaction far larger than the WAL write buffer and the page cache (it spills to
    /// the WAL before it commits): the system VFS writes at most 128 KiB - 1 per call.
    @Test func aLargeImportGoesThroughTheWALWriteBuffer() async throws {
        _ = try store()
        let rows = (0..<20_000).map { FilmImport.Row(film: FilmInput(name: "Film \($0) " + String(repeating: "x", count: 40), studio: "S", year: nil)) }
        let file = try files.catalogue()
        #expect(try file.importFilms(rows) == rows.count)
        #expect(try reader().films(page: FilmPageRequest(sort: .id, limit: 1, after: nil)).ready().first?.name.hasPrefix("Film 0 ") == true)
        #expect(try files.catalogue().count() == rows.count)
        let check = try files.connection().prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
    }

    @Test func keysetPagesNeitherRepeatNorSkip() async throws {
        let store = try store()
        for index in 1...25 { _ = try await store.add(FilmInput(name: "F\(index)", studio: "S", year: nil)) }
        for index in stride(from: 1, through: 25, by: 3) { _ = try await store.vote(.like, film: Int64(index)) }
        for sort in FilmSort.allCases {
            var seen: [Int64] = [], cursor: FilmCursor?
            repeat {
                let page = try reader().films(page: FilmPageRequest(sort: sort, limit: 4, after: cursor)).ready()
                seen += page.prefix(4).map(\.id)
                cursor = page.count > 4 ? FilmCursor(after: page[3], sort: sort) : nil
            } while cursor != nil
            #expect(seen.count == 25 && Set(seen).count == 25, "sort \(sort)")
        }
    }

    @Test func migrationsSetTheUserVersion() async throws {
        _ = try store()
        #expect(Migrations.latest >= 3)
        #expect(try files.connection().scalar("PRAGMA user_version") == Migrations.latest)
        // Opened again, nothing is migrated twice (a second CREATE TABLE would throw).
        let reopened = try files.catalogue(durability: .full)
        #expect(try reopened.count() == 0)
        #expect(try files.connection().scalar("PRAGMA user_version") == Migrations.latest)
    }

    /// close(): the writes queued before it are committed and answered, then the store's and
    /// the checkpointer's threads end and their connections close: no descriptor is left on
    /// the file, and the store's thread is gone.
    @Test func closeCommitsWhatWasQueuedThenEndsTheThreadsAndReleasesTheFile() async throws {
        let store = try store()
        let film = try await store.add(FilmInput(name: "A", studio: "S", year: nil))
        let storeThread = Locked<pid_t>(0)
        let held = DispatchSemaphore(value: 0)
        store.onStoreThread { storeThread.withLock { $0 = currentThreadID() }; held.wait() }
        let answered = Locked(0)
        for _ in 0..<10 {
            store.vote(.like, film: film.id, completion: Completion(on: RecordingQueue()) { result in
                if case .success(let voted?) = result, voted.likes > 0 { answered.withLock { $0 += 1 } }
            })
        }
        #expect(files.openDescriptors > 0)
        held.signal()
        store.close()
        #expect(answered.withLock { $0 } == 10)
        #expect(threadEnds(storeThread.withLock { $0 }))
        #expect(files.openDescriptors == 0, "the store's and the checkpointer's connections are closed")
        #expect(try files.catalogue().count() == 1)
        let reader = try reader()
        #expect(try reader.film(id: film.id).ready()?.likes == 10)
        reader.close()
        store.close()  // twice is harmless
    }

    /// A reader's close shuts its connection.
    @Test func aReaderClosesItsConnection() throws {
        let store = try store()
        store.close()
        let reader = try reader()
        #expect(try reader.randomFilm().ready() == nil)
        #expect(files.openDescriptors > 0)
        reader.close()
        #expect(files.openDescriptors == 0)
    }

    @Test func backupIsAConsistentCopy() async throws {
        let store = try store()
        let film = try await store.add(FilmInput(name: "A", studio: "S", year: 1999))
        _ = try await store.vote(.like, film: film.id)
        let copy = files.file("backup.db")
        try files.catalogue().backup(to: copy)
        // The copy is a sound database on its own (no WAL beside it) with the committed film as it is.
        #expect(!FileManager.default.fileExists(atPath: copy + "-wal"))
        let check = try files.connection(copy).prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
        var films: [Film] = []
        try files.catalogue(copy).forEachFilm { films.append($0) }
        #expect(films.map(\.likes) == [1] && films.first?.name == "A" && films.first?.year == 1999)
        #expect(try files.connection(copy).scalar("PRAGMA user_version") == Migrations.latest)
    }
}

/// The calling thread's kernel id (gettid, which Swift's Glibc does not export).
func currentThreadID() -> pid_t {
    let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
    return pid_t(link.split(separator: "/").last.map(String.init) ?? "") ?? 0
}

/// Whether the thread `tid` of this process is gone within a second (it may still be on its
/// way out when the call that ended it returns).
func threadEnds(_ tid: pid_t) -> Bool {
    guard tid > 0 else { return false }
    for _ in 0..<100 {
        if !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)") { return true }
        usleep(10_000)
    }
    return false
}

/// A completion queue that runs jobs on the thread that hands them over, counting them.
final class RecordingQueue: CompletionQueue, @unchecked Sendable {
    private let state = Locked((jobs: 0, running: false))
    var jobs: Int { state.withLock { $0.jobs } }
    var isRunning: Bool { state.withLock { $0.running } }

    func execute(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.jobs += 1; $0.running = true }
        body()
        state.withLock { $0.running = false }
    }
}

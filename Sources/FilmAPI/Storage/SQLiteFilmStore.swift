/// The catalogue on SQLite: an actor on its own thread holding the prepared statements.
///
/// Writes are group-committed: each write joins the batch of writes waiting when the store
/// gets to it, the batch runs in one transaction, and every caller is answered only after
/// the COMMIT returned. N acknowledged likes are N likes on disk, at a fraction of the cost
/// of one transaction each.
actor SQLiteFilmStore: FilmStore {
    private let executor: ThreadExecutor
    private let database: FilmDatabase
    private let checkpointer: WALCheckpointer
    private var batch: [PendingWrite] = []
    private var flushScheduled = false

    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init(path: String, durability: Durability) throws {
        database = try FilmDatabase(path: path, durability: durability)
        checkpointer = try WALCheckpointer(path: path)
        executor = ThreadExecutor(name: "filmd-store")  // last: a store that failed to open leaves no thread
    }

    /// Stops the checkpointer, runs the writes queued so far, then closes the connection and
    /// ends the store's thread; returns once that is done. Nothing may use the store after
    /// this. Not from the store's thread.
    nonisolated func close() {
        checkpointer.close()
        executor.close { self.assumeIsolated { $0.database.close() } }
    }

    func count() throws -> Int { try database.count() }

    func isHealthy() -> Bool {
        do {
            _ = try database.count()
            return true
        } catch {
            return false
        }
    }

    nonisolated(nonsending) func add(_ film: FilmInput) async throws -> Film {
        try await write { try $0.add(film) }
    }

    nonisolated(nonsending) func vote(_ vote: Vote, film id: Int64) async throws -> Film? {
        try await write { try $0.vote(vote, id: id) }
    }

    nonisolated(nonsending) func update(id: Int64, with patch: FilmPatch) async throws -> Film? {
        try await write { try $0.update(id: id, with: patch) }
    }

    nonisolated(nonsending) func delete(id: Int64) async throws -> Bool {
        try await write { try $0.delete(id: id) }
    }

    nonisolated func add(_ film: FilmInput, completion: Completion<Film>) {
        write({ try $0.add(film) }, completion: completion)
    }

    nonisolated func vote(_ vote: Vote, film id: Int64, completion: Completion<Film?>) {
        write({ try $0.vote(vote, id: id) }, completion: completion)
    }

    nonisolated func update(id: Int64, with patch: FilmPatch, completion: Completion<Film?>) {
        write({ try $0.update(id: id, with: patch) }, completion: completion)
    }

    nonisolated func delete(id: Int64, completion: Completion<Bool>) {
        write({ try $0.delete(id: id) }, completion: completion)
    }

    /// Asked on the store's thread, behind the writes queued before it.
    nonisolated func isHealthy(completion: Completion<Bool>) {
        executor.execute {
            let healthy = self.assumeIsolated { $0.isHealthy() }
            completion.queue.execute { completion(.success(healthy)) }
        }
    }

    /// The pick is read in the vote's transaction, on this connection: its page cache is warm,
    /// where an event loop's reader finds its cache dropped after every commit (SQLite resets a
    /// connection's cache whenever the WAL changed) and reads the pages again. A failed pick
    /// leaves the vote as it is and the caller picks on its own.
    nonisolated func voteAndPickRandom(_ vote: Vote, film id: Int64, completion: Completion<VotedAndPicked>) {
        write({ database in
            guard let voted = try database.vote(vote, id: id) else { return VotedAndPicked(voted: nil, picked: nil) }
            return VotedAndPicked(voted: voted, picked: try? database.randomFilm())
        }, completion: completion)
    }

    /// Loads `films` in one transaction when the catalogue is empty; returns how many.
    func seed(_ films: [FilmImport.Row]) throws -> Int {
        guard try database.count() == 0 else { return 0 }
        try database.importRows(films)
        return films.count
    }

    /// Queues one single-statement write for the next batch and waits for its commit, on the
    /// caller's executor (waiting inside the actor went through the store thread as well).
    /// Swift resumes the continuation on its global pool and hops back to the caller from
    /// there, so the hot writes take the completion form instead (`add(_:completion:)`,
    /// `vote(_:film:completion:)`); PATCH, DELETE and the tests use this one.
    private nonisolated(nonsending) func write<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit(PendingWrite(operation, continuation))
        }
    }

    /// Queues one write for the next batch; `completion` hears of it after the COMMIT, on its
    /// queue. Every write of the store is one of these (the tests queue their own as well).
    nonisolated func write<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T, completion: Completion<T>) {
        submit(PendingWrite(operation, completion))
    }

    /// Runs `body` on the store's thread behind the work queued before it (tests hold the
    /// thread with it to see what one batch does).
    nonisolated func onStoreThread(_ body: @escaping @Sendable () -> Void) {
        executor.execute(body)
    }

    private nonisolated func submit(_ write: PendingWrite) {
        executor.execute { self.assumeIsolated { $0.join(write) } }
    }

    private func join(_ write: PendingWrite) {
        batch.append(write)
        guard !flushScheduled else { return }
        flushScheduled = true
        // Runs after everything already queued on the store's thread: those writes are the batch.
        executor.execute { self.assumeIsolated { $0.flush() } }
    }

    private func flush() {
        let writes = batch
        batch.removeAll(keepingCapacity: true)
        flushScheduled = false
        var commitError: (any Error)?
        do {
            try database.connection.batch(writes) { $0.run(database) }
        } catch {
            commitError = error  // BEGIN or COMMIT failed, or SQLite rolled the batch back: none of it is acknowledged
        }
        settle(writes, commitError: commitError)
        if commitError == nil { checkpointer.restartIfDue(database.connection) }
    }

    /// Answers a batch's writers: continuations at once, completions in one job per loop.
    private func settle(_ writes: [PendingWrite], commitError: (any Error)?) {
        var perQueue: [(queue: any CompletionQueue, writes: [PendingWrite])] = []
        for write in writes {
            guard let queue = write.queue else {
                write.settle(commitError)
                continue
            }
            if let index = perQueue.firstIndex(where: { $0.queue === queue }) {
                perQueue[index].writes.append(write)
            } else {
                perQueue.append((queue, [write]))
            }
        }
        for (queue, writes) in perQueue {
            queue.execute { writes.forEach { $0.settle(commitError) } }
        }
    }
}

/// One write waiting for its batch: the statement runs inside the batch's transaction, the
/// caller hears of its result only after the COMMIT.
private struct PendingWrite: @unchecked Sendable {  // handed to the store's thread once
    let run: (FilmDatabase) -> Void
    /// Where `settle` must run; nil: any thread (it resumes a continuation).
    let queue: (any CompletionQueue)?
    /// Gives the writer its result, or the COMMIT's failure.
    let settle: (_ commitError: (any Error)?) -> Void

    init<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T, _ continuation: CheckedContinuation<T, any Error>) {
        self.init(operation, on: nil) { continuation.resume(with: $0) }
    }

    init<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T, _ completion: Completion<T>) {
        self.init(operation, on: completion.queue) { completion($0) }
    }

    private init<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T, on queue: (any CompletionQueue)?,
                              deliver: @escaping (Result<T, any Error>) -> Void) {
        let outcome = Outcome<T>()
        run = { database in outcome.result = Result { try operation(database) } }
        self.queue = queue
        settle = { deliver(outcome.settled(commitError: $0)) }
    }

    private final class Outcome<T> {
        var result: Result<T, any Error>?

        func settled(commitError: (any Error)?) -> Result<T, any Error> {
            if let commitError { return .failure(StorageUnavailable(underlying: commitError)) }
            return result ?? .failure(StorageUnavailable(underlying: CancellationError()))
        }
    }
}

/// The database could not do what was asked; answered 503, the cause goes to the log only.
struct StorageUnavailable: Error, CustomStringConvertible {
    let underlying: any Error
    var description: String { "storage unavailable: \(underlying)" }
}

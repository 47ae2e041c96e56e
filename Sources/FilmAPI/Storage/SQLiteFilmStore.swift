/// The catalogue on SQLite: an actor on its own thread holding the prepared statements.
///
/// Writes are group-committed: each write joins the batch of writes waiting when the store
/// gets to it, the batch runs in one transaction, and every caller is answered only after
/// the COMMIT returned. N acknowledged likes are N likes on disk, at a fraction of the cost
/// of one transaction each.
public actor SQLiteFilmStore: FilmStore {
    private let executor: ThreadExecutor
    private let database: FilmDatabase
    private let checkpointer: WALCheckpointer
    private var batch: [PendingWrite] = []
    private var flushScheduled = false

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(path: String, durability: Durability) throws {
        executor = ThreadExecutor(name: "filmd-store")
        database = try FilmDatabase(path: path, durability: durability)
        checkpointer = try WALCheckpointer(path: path)
    }

    public func count() throws -> Int { try database.count() }

    public func isHealthy() -> Bool {
        do {
            _ = try database.count()
            return true
        } catch {
            return false
        }
    }

    public nonisolated(nonsending) func add(_ film: FilmInput) async throws -> Film {
        try await write { try $0.add(film) }
    }

    public nonisolated(nonsending) func vote(_ vote: Vote, film id: Int64) async throws -> Film? {
        try await write { try $0.vote(vote, id: id) }
    }

    public nonisolated(nonsending) func update(id: Int64, with patch: FilmPatch) async throws -> Film? {
        try await write { try $0.update(id: id, with: patch) }
    }

    public nonisolated(nonsending) func delete(id: Int64) async throws -> Bool {
        try await write { try $0.delete(id: id) }
    }

    /// Loads `films` in one transaction when the catalogue is empty; returns how many.
    public func seed(_ films: [FilmImport.Row]) throws -> Int {
        guard try database.count() == 0 else { return 0 }
        try database.importRows(films)
        return films.count
    }

    /// Queues one single-statement write for the next batch and waits for its commit. The
    /// wait stays on the caller's executor (its event loop): the commit wakes the request's task
    /// there directly. Waiting inside the actor woke it on the global pool first, then the store
    /// thread, then the loop.
    private nonisolated(nonsending) func write<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let pending = PendingWrite(operation, continuation)
            executor.execute { self.assumeIsolated { $0.join(pending) } }
        }
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
        do {
            try database.transaction { writes.forEach { $0.run(database) } }
        } catch {
            // BEGIN or COMMIT failed: nothing of the batch is acknowledged.
            writes.forEach { $0.fail(StorageUnavailable(underlying: error)) }
            return
        }
        writes.forEach { $0.acknowledge() }
        checkpointer.restartIfDue(database.connection)
    }
}

/// One write waiting for its batch: the statement runs inside the batch's transaction, the
/// caller hears of its result only after the COMMIT.
private struct PendingWrite: @unchecked Sendable {  // handed to the store's thread once
    let run: (FilmDatabase) -> Void
    let acknowledge: () -> Void
    let fail: (any Error) -> Void

    init<T: Sendable>(_ operation: @escaping @Sendable (FilmDatabase) throws -> T, _ continuation: CheckedContinuation<T, any Error>) {
        let outcome = Outcome<T>()
        run = { database in outcome.result = Result { try operation(database) } }
        acknowledge = { continuation.resume(with: outcome.result ?? .failure(StorageUnavailable(underlying: CancellationError()))) }
        fail = { continuation.resume(throwing: $0) }
    }

    private final class Outcome<T> {
        var result: Result<T, any Error>?
    }
}

/// The database could not do what was asked; answered 503, the cause goes to the log only.
public struct StorageUnavailable: Error, CustomStringConvertible {
    public let underlying: any Error
    public var description: String { "storage unavailable: \(underlying)" }
}

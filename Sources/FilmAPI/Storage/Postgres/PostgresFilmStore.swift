import Logging

/// The catalogue in PostgreSQL, shared by every node. Each event loop writes on a connection
/// of its own (`attach`): the writes of one loop turn go out as one pipeline segment and one
/// commit, and every writer hears of its result, on its loop, only after that commit. Votes are
/// `likes = likes + 1` in the database, so concurrent votes from any number of nodes add up.
///
/// Failures: a connection that is down answers `StorageUnavailable` (503, nothing changed);
/// one lost after a write's commit was requested answers `WriteOutcomeUnknown`. Nothing is
/// ever sent again by itself.
final class PostgresFilmStore: FilmStore, @unchecked Sendable {
    private let url: PostgresURL
    private let timeoutMilliseconds: Int
    private let logger: Logger
    /// Each loop's write connection, made before the loops serve.
    private let writers = Locked<[ObjectIdentifier: (loop: EventLoop, connection: PGLoopConnection)]>([:])
    private let firstLoop = Locked<EventLoop?>(nil)

    init(url: PostgresURL, timeoutMilliseconds: Int, logger: Logger) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
        self.logger = logger
    }

    /// A write connection for `loop`, and a reader with a connection of its own.
    func attach(_ loop: EventLoop) -> PostgresFilmReader {
        let writer = connection(on: loop, maxSegmentsInFlight: 1)
        writers.withLock { $0[ObjectIdentifier(loop)] = (loop, writer) }
        firstLoop.withLock { $0 = $0 ?? loop }
        return PostgresFilmReader(connection: connection(on: loop, maxSegmentsInFlight: .max))
    }

    private func connection(on loop: EventLoop, maxSegmentsInFlight: Int) -> PGLoopConnection {
        PGLoopConnection(url: url, loop: loop, statements: PostgresCatalogueSQL.all, timeoutMilliseconds: timeoutMilliseconds,
                         maxSegmentsInFlight: maxSegmentsInFlight, logger: logger)
    }

    /// Ends every write connection; once the loops have stopped.
    func close() {
        writers.withLock { $0.values.forEach { $0.connection.close() } }
    }

    func add(_ film: FilmInput, completion: Completion<Film>) {
        write([PGQuery(PostgresCatalogueSQL.insert, [film.name, film.studio, film.year.map(String.init)])], completion) { results in
            guard let film = results[0].firstFilm else { throw StorageUnavailable(underlying: PGError(message: "no row returned")) }
            return film
        }
    }

    func vote(_ vote: Vote, film id: Int64, completion: Completion<Film?>) {
        write([PostgresCatalogueSQL.vote(vote, id: id)], locking: id, completion) { $0[0].firstFilm }
    }

    func update(id: Int64, with patch: FilmPatch, completion: Completion<Film?>) {
        write([PostgresCatalogueSQL.update(id: id, with: patch)], locking: id, completion) { $0[0].firstFilm }
    }

    func delete(id: Int64, completion: Completion<Bool>) {
        write([PGQuery(PostgresCatalogueSQL.delete, [String(id)])], locking: id, completion) { $0[0].affectedRows > 0 }
    }

    /// A round trip on the loop's write connection, behind the writes queued before it.
    func isHealthy(completion: Completion<Bool>) {
        write([PGQuery(PostgresCatalogueSQL.ping)], Completion(on: completion.queue) { completion(.success((try? $0.get()) != nil)) }) { _ in () }
    }

    func add(_ film: FilmInput) async throws -> Film { try await Completion.awaiting { add(film, completion: $0) } }
    func vote(_ vote: Vote, film id: Int64) async throws -> Film? { try await Completion.awaiting { self.vote(vote, film: id, completion: $0) } }
    func update(id: Int64, with patch: FilmPatch) async throws -> Film? {
        try await Completion.awaiting { update(id: id, with: patch, completion: $0) }
    }
    func delete(id: Int64) async throws -> Bool { try await Completion.awaiting { delete(id: id, completion: $0) } }
    func isHealthy() async -> Bool { (try? await Completion.awaiting { isHealthy(completion: $0) }) ?? false }

    /// Runs `queries` on the write connection of the completion's loop (the first loop's for
    /// callers off every loop) and answers with `decode` of their results. `locking`: the film
    /// row the queries lock, so that every segment takes its row locks in one order.
    private func write<T: Sendable>(_ queries: [PGQuery], locking row: Int64? = nil, _ completion: Completion<T>,
                                    decode: @escaping @Sendable ([PGResult]) throws -> T) {
        let own = (completion.queue as? EventLoop).flatMap { loop in writers.withLock { $0[ObjectIdentifier(loop)] } }
        guard let writer = own ?? firstLoop.withLock({ $0 }).flatMap({ loop in writers.withLock { $0[ObjectIdentifier(loop)] } }) else {
            return completion(.failure(StorageUnavailable(underlying: PGConnectionLost(sent: false, reason: "no event loop"))))
        }
        let run: @Sendable () -> Void = { writer.connection.run(queries, lockedRow: row) { result in
            let answer = Result { try decode(result.mapError(Self.writeFailure).get()) }
            if own != nil { completion(answer) } else { completion.queue.execute { completion(answer) } }
        } }
        if own != nil { run() } else { writer.loop.execute(run) }
    }

    private static func writeFailure(_ error: any Error) -> any Error {
        if let lost = error as? PGConnectionLost, lost.sent { return WriteOutcomeUnknown(underlying: lost) }
        return StorageUnavailable(underlying: error)
    }
}

/// A write whose commit was requested and whose answer never came: it may or may not have
/// been applied. Answered 503 with a problem type of its own; never sent again.
struct WriteOutcomeUnknown: Error, CustomStringConvertible {
    let underlying: any Error
    var description: String { "write outcome unknown: \(underlying)" }
}

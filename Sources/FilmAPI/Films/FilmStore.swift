/// The catalogue's writes (and the health check). The handlers use the completion forms, which
/// answer on the completion's queue (the request's loop) once the write is committed: the one
/// way a request waits (see `Answer`). The async forms serve tests and the command line.
/// `SQLiteFilmStore` is the real one; unit tests of the layers above may use an in-memory one.
protocol FilmStore: Sendable {
    /// Stores a film; returns it with its id once the write is committed.
    func add(_ film: FilmInput) async throws -> Film
    /// Records one vote once committed; nil when no film has that id (nothing recorded).
    func vote(_ vote: Vote, film id: Int64) async throws -> Film?
    func update(id: Int64, with patch: FilmPatch) async throws -> Film?
    /// Whether a film was deleted.
    func delete(id: Int64) async throws -> Bool
    /// Whether the database answers (readiness).
    func isHealthy() async -> Bool

    /// `add`, answered through `completion` on its queue once committed (no task on the caller's side).
    func add(_ film: FilmInput, completion: Completion<Film>)
    /// `vote`, answered through `completion` on its queue once committed.
    func vote(_ vote: Vote, film id: Int64, completion: Completion<Film?>)
    /// `vote`, and a film chosen at random as the catalogue stands right after it (what
    /// `GET /?like=ID` answers with), through `completion` once committed.
    func voteAndPickRandom(_ vote: Vote, film id: Int64, completion: Completion<VotedAndPicked>)
    /// `update`, answered through `completion` once committed.
    func update(id: Int64, with patch: FilmPatch, completion: Completion<Film?>)
    /// `delete`, answered through `completion` once committed.
    func delete(id: Int64, completion: Completion<Bool>)
    /// `isHealthy`, answered through `completion` on its queue.
    func isHealthy(completion: Completion<Bool>)
}

/// A vote's film and, for `GET /?like=`, a film picked at random after it.
struct VotedAndPicked: Sendable {
    /// nil: no film has the id (nothing was recorded).
    var voted: Film?
    /// nil: the store picked none, and the caller reads one itself.
    var picked: Film?

    init(voted: Film?, picked: Film?) {
        self.voted = voted
        self.picked = picked
    }
}

extension FilmStore {
    /// For stores with only the async writes (test doubles): the write in a task.
    func add(_ film: FilmInput, completion: Completion<Film>) {
        complete(completion) { try await add(film) }
    }

    func vote(_ vote: Vote, film id: Int64, completion: Completion<Film?>) {
        complete(completion) { try await self.vote(vote, film: id) }
    }

    func update(id: Int64, with patch: FilmPatch, completion: Completion<Film?>) {
        complete(completion) { try await update(id: id, with: patch) }
    }

    func delete(id: Int64, completion: Completion<Bool>) {
        complete(completion) { try await delete(id: id) }
    }

    func isHealthy(completion: Completion<Bool>) {
        complete(completion) { await isHealthy() }
    }

    /// For stores that cannot read: the vote alone; the caller picks the film.
    func voteAndPickRandom(_ vote: Vote, film id: Int64, completion: Completion<VotedAndPicked>) {
        self.vote(vote, film: id, completion: completion.map { VotedAndPicked(voted: $0, picked: nil) })
    }

    private func complete<Value: Sendable>(_ completion: Completion<Value>, _ write: @escaping @Sendable () async throws -> Value) {
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await write()) } catch { result = .failure(error) }
            completion.queue.execute { completion(result) }
        }
    }
}

/// The catalogue's reads, one reader per event loop, answered on that loop: SQLite reads on the
/// loop's own connection and answers `.now` (an indexed read from a warm WAL database costs
/// microseconds, less than a hop to another thread and back); PostgreSQL answers `.later`, after
/// the round trip. A failed read is a failing answer (`Answer.failure`), never a throw.
protocol FilmReader: Sendable {
    /// A film chosen at random, in O(log n); nil when the catalogue is empty.
    func randomFilm() -> Answer<Film?>
    func film(id: Int64) -> Answer<Film?>
    /// Up to `page.limit + 1` films after the cursor, in the page's order (the extra one tells
    /// whether there is a next page).
    func films(page: FilmPageRequest) -> Answer<[Film]>
}

import Logging
import Testing
@testable import FilmAPI

/// The whole chain in-process, over an in-memory store.
@Suite struct ApplicationTests {
    let store = MemoryFilmStore()

    func app() throws -> Application { try TestApp(TestApp.open, store: store).app }

    func send(_ method: HTTPMethod, _ target: String, body: String? = nil) async throws -> Response {
        var headers = HTTPHeaders()
        if body != nil { headers.add("Content-Type", "application/json") }
        return try await app().respond(to: Request(method: method, target: target, headers: headers, body: Array((body ?? "").utf8)))
    }

    @Test func readsAreAnsweredAtOnceAndVotesCallBack() async throws {
        _ = try await store.add(FilmInput(name: "Solaris", studio: "Mosfilm", year: 1972))
        let application = try app()
        for target in ["/", "/films", "/films/random", "/healthz", "/nowhere"] {
            guard case .now(let response) = application.start(Request(method: .GET, target: target)) else {
                Issue.record("\(target) did not answer at once"); continue
            }
            #expect(response.headers["X-Request-ID"] != nil, "\(target): the chain ran")
        }
        guard case .later(let start) = application.start(Request(method: .GET, target: "/?like=1")) else {
            Issue.record("a vote answered before its commit"); return
        }
        let queue = RecordingQueue()
        let response = await withCheckedContinuation { continuation in
            start(Completion(on: queue) { result in
                #expect(queue.isRunning, "answered on the request's queue")
                continuation.resume(returning: try? result.get())
            })
        }
        #expect(response?.status == .ok)
        #expect(response?.headers["X-Request-ID"] != nil, "the layers' leave ran")
        #expect(try store.film(id: 1).ready()?.likes == 1)
        #expect(queue.jobs == 1)
    }

    /// GET /?like= answers with the film the store picked after the vote when it picked one
    /// (the SQLite store reads it on its warm connection); the loop's reader only otherwise.
    @Test func aVoteAnswersWithTheStoresPick() async throws {
        _ = try await store.add(FilmInput(name: "Solaris", studio: "Mosfilm", year: 1972))
        let picking = PickingStore(catalogue: store, pick: Film(id: 7, name: "Picked", studio: "Store", year: nil))
        let application = try TestApp(TestApp.open, store: store, writes: picking).app
        let response = await application.respond(to: Request(method: .GET, target: "/?like=1"))
        #expect(response.status == .ok)
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""name":"Picked""#))
        #expect(try store.film(id: 1).ready()?.likes == 1)
        #expect(await application.respond(to: Request(method: .GET, target: "/?like=2")).status == .notFound)
    }

    /// A vote is committed before its film is picked: when the pick fails, the answer is still
    /// a 200 (with the voted film), never an error that would say the vote was not recorded.
    @Test func aVoteWhosePickFailsAnswersWithTheVotedFilm() async throws {
        _ = try await store.add(FilmInput(name: "Solaris", studio: "Mosfilm", year: 1972))
        let unreadable = MemoryFilmStore()
        unreadable.failing = true
        let application = try TestApp(TestApp.open, store: unreadable, writes: store).app
        let response = await application.respond(to: Request(method: .GET, target: "/?like=1"))
        #expect(response.status == .ok)
        #expect(String(decoding: response.body, as: UTF8.self).contains(#""likes":1"#))
        #expect(try store.film(id: 1).ready()?.likes == 1)
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        for response in [try await send(.GET, "/healthz"), try await send(.GET, "/nowhere"), try await send(.PUT, "/films")] {
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            #expect(response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'")
            #expect(response.headers["X-Frame-Options"] == "DENY")
            #expect(response.headers["Referrer-Policy"] == "no-referrer")
            #expect(response.headers["Cache-Control"] == "no-store")
            #expect(response.headers["X-Request-ID"] != nil)
            #expect(response.headers["Strict-Transport-Security"] == nil)
        }
    }

    @Test func unknownPathIsAProblem() async throws {
        let response = try await send(.GET, "/nowhere")
        #expect(response.status == .notFound)
        #expect(response.headers["Content-Type"] == "application/problem+json")
        let body = try JSONParser.parse(response.body)
        guard case .object(let object) = body else { Issue.record("not an object"); return }
        #expect(object["status"] == .integer(404))
        #expect(object["request_id"] == .string(response.headers["X-Request-ID"] ?? ""))
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let response = try await send(.DELETE, "/films")
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "GET, HEAD, POST, OPTIONS")
    }

    @Test func tutorialFlow() async throws {
        #expect(try await send(.GET, "/").status == .notFound)
        let created = try await send(.POST, "/add_film", body: #"{"name":"Up","studio":"Pixar","year":2009}"#)
        #expect(created.status == .created)
        #expect(created.headers["Location"] == "/films/1")
        #expect(try await send(.GET, "/?like=1").status == .ok)
        #expect(try await send(.GET, "/?like=2").status == .notFound)
        #expect(try await send(.GET, "/?like=%C2%B2").status == .badRequest)
        #expect(try await send(.GET, "/?like=1&dislike=1").status == .badRequest)
        #expect(try store.film(id: 1).ready()?.likes == 1)
    }

    @Test func unsupportedMediaTypeChangesNothing() async throws {
        let response = try await app().respond(to: Request(method: .POST, target: "/films",
                                                       headers: HTTPHeaders([("Content-Type", "text/plain")]),
                                                       body: Array(#"{"name":"Up","studio":"Pixar"}"#.utf8)))
        #expect(response.status == .unsupportedMediaType)
        #expect(try store.randomFilm().ready() == nil)
    }

    @Test func storageFailureIs503WithoutDetails() async throws {
        store.failing = true
        let response = try await send(.GET, "/films/1")
        #expect(response.status == .serviceUnavailable)
        #expect(!String(decoding: response.body, as: UTF8.self).lowercased().contains("sqlite"))
    }
}

/// A catalogue in memory, for tests of the layers above storage.
final class MemoryFilmStore: FilmStore, FilmReader, @unchecked Sendable {
    private var films: [Int64: Film] = [:]
    private var nextID: Int64 = 1
    var failing = false

    private func check() throws {
        if failing { throw StorageUnavailable(underlying: SQLiteError(code: .ioError, message: "disk I/O error in /var/lib/filmd")) }
    }

    func randomFilm() -> Answer<Film?> { .reading { try check(); return films.values.randomElement() } }
    func film(id: Int64) -> Answer<Film?> { .reading { try check(); return films[id] } }
    func films(page: FilmPageRequest) -> Answer<[Film]> {
        .reading {
            try check()
            return films.values.sorted { $0.id < $1.id }.filter { $0.id > (page.after?.id ?? 0) }.prefix(page.limit + 1).map { $0 }
        }
    }
    func add(_ film: FilmInput) async throws -> Film {
        try check()
        let stored = Film(id: nextID, name: film.name, studio: film.studio, year: film.year)
        films[nextID] = stored
        nextID += 1
        return stored
    }
    func vote(_ vote: Vote, film id: Int64) async throws -> Film? {
        try check()
        guard var film = films[id] else { return nil }
        if vote == .like { film.likes += 1 } else { film.dislikes += 1 }
        films[id] = film
        return film
    }
    func update(id: Int64, with patch: FilmPatch) async throws -> Film? {
        try check()
        guard var film = films[id] else { return nil }
        film.name = patch.name ?? film.name
        film.studio = patch.studio ?? film.studio
        if let year = patch.year { film.year = year }
        films[id] = film
        return film
    }
    func delete(id: Int64) async throws -> Bool { try check(); return films.removeValue(forKey: id) != nil }
    func isHealthy() async -> Bool { !failing }
}

/// A store that picks the film a vote answers with itself, over a catalogue in memory.
final class PickingStore: FilmStore, @unchecked Sendable {
    let catalogue: MemoryFilmStore
    let pick: Film

    init(catalogue: MemoryFilmStore, pick: Film) {
        self.catalogue = catalogue
        self.pick = pick
    }

    func add(_ film: FilmInput) async throws -> Film { try await catalogue.add(film) }
    func vote(_ vote: Vote, film id: Int64) async throws -> Film? { try await catalogue.vote(vote, film: id) }
    func update(id: Int64, with patch: FilmPatch) async throws -> Film? { try await catalogue.update(id: id, with: patch) }
    func delete(id: Int64) async throws -> Bool { try await catalogue.delete(id: id) }
    func isHealthy() async -> Bool { true }
    func voteAndPickRandom(_ vote: Vote, film id: Int64, completion: Completion<VotedAndPicked>) {
        self.vote(vote, film: id, completion: completion.map { [pick] in VotedAndPicked(voted: $0, picked: $0 == nil ? nil : pick) })
    }
}

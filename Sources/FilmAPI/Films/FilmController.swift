/// The film handlers: the tutorial's three routes and the resource API.
struct FilmController: Sendable {
    let store: any FilmStore
    let reader: any FilmReader
    let maxBodyBytes: Int

    init(store: any FilmStore, reader: any FilmReader, maxBodyBytes: Int) {
        self.store = store
        self.reader = reader
        self.maxBodyBytes = maxBodyBytes
    }

    /// `GET /`: a random film. `GET /?like=ID`, `GET /?dislike=ID`: records the vote, then
    /// a random film, once the vote is committed.
    func root(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let likes = request.query.values("like"), dislikes = request.query.values("dislike")
        let vote: Vote, id: Int64
        switch (likes.count, dislikes.count) {
        case (0, 0): return try randomFilm()
        case (1, 0): (vote, id) = (.like, try FilmID.require(likes[0], field: "like"))
        case (0, 1): (vote, id) = (.dislike, try FilmID.require(dislikes[0], field: "dislike"))
        default:
            throw Problem.badRequest("Send one vote per request: a single like or a single dislike.")
        }
        return .later { [self] completion in
            store.voteAndPickRandom(vote, film: id, completion: completion.then { [self] outcome in
                guard let voted = outcome.voted else { throw Problem.notFound("No film has id \(id).") }
                if let picked = outcome.picked { return .now(.json(picked.jsonBytes)) }
                return pickAfter(voted)
            })
        }
    }

    /// The random film after a committed vote. Should the read fail, the voted film answers:
    /// an error would tell the client that nothing was done.
    private func pickAfter(_ voted: Film) -> Answer<Response> {
        .later { [reader] completion in
            reader.randomFilm().deliver(to: Completion(on: completion.queue) { picked in
                let film = (try? picked.get()).flatMap { $0 } ?? voted
                completion(.success(.json(film.jsonBytes)))
            })
        }
    }

    /// `GET /films/random`
    func random(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        try randomFilm()
    }

    private func randomFilm() throws -> Answer<Response> {
        try reader.randomFilm().map { film in
            guard let film else { throw Problem.notFound("The catalogue is empty.") }
            return .json(film.jsonBytes)
        }
    }

    /// `POST /add_film`, `POST /films`: 201 with the stored film and its `Location`, once committed.
    func add(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let input = try FilmInput.validated(try jsonObject(request))
        return .later { [store] completion in
            store.add(input, completion: completion.map { film in
                var response = Response.json(film.jsonBytes, status: .created)
                response.headers.add("Location", "/films/\(film.id)")
                return response
            })
        }
    }

    /// `HEAD /add_film`: the route exists and takes POST.
    func probeAdd(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        .now(Response(status: .ok, headers: HTTPHeaders([("Allow", "POST, HEAD, OPTIONS"), ("Content-Length", "0")])))
    }

    /// `GET /films/{id}`
    func get(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let id = try Self.filmID(context)
        return try reader.film(id: id).map { film in
            guard let film else { throw Problem.notFound("No film has id \(id).") }
            return .json(film.jsonBytes)
        }
    }

    /// `POST /films/{id}/like`, `POST /films/{id}/dislike`
    func vote(_ vote: Vote) -> Handler {
        { [store] request, context in
            let id = try Self.filmID(context)
            return .later { completion in
                store.vote(vote, film: id, completion: completion.map { film in
                    guard let film else { throw Problem.notFound("No film has id \(id).") }
                    return .json(film.jsonBytes)
                })
            }
        }
    }

    /// `PATCH /films/{id}`
    func patch(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let id = try Self.filmID(context)
        let patch = try FilmPatch.validated(try jsonObject(request))
        return .later { [store] completion in
            store.update(id: id, with: patch, completion: completion.map { film in
                guard let film else { throw Problem.notFound("No film has id \(id).") }
                return .json(film.jsonBytes)
            })
        }
    }

    /// `DELETE /films/{id}`
    func delete(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let id = try Self.filmID(context)
        return .later { [store] completion in
            store.delete(id: id, completion: completion.map { deleted in
                guard deleted else { throw Problem.notFound("No film has id \(id).") }
                return .noContent()
            })
        }
    }

    /// `GET /films?limit=&cursor=&sort=`
    func list(_ request: Request, _ context: RequestContext) throws -> Answer<Response> {
        let page = try FilmListQuery.page(from: request.query)
        return reader.films(page: page).map { films in Self.listing(films, of: page) }
    }

    /// A page as `{"films": [...], "next_cursor": ...}`; `films` holds one more than the page when there is a next one.
    private static func listing(_ films: [Film], of page: FilmPageRequest) -> Response {
        var json = JSONWriter(capacity: 128 * (films.count + 1))
        json.beginObject()
        json.key("films")
        json.beginArray()
        for film in films.prefix(page.limit) { film.write(to: &json) }
        json.endArray()
        json.key("next_cursor")
        if films.count > page.limit, let last = films.prefix(page.limit).last {
            json.string(FilmCursor(after: last, sort: page.sort).token)
        } else {
            json.null()
        }
        json.endObject()
        return .json(json.bytes)
    }

    private static func filmID(_ context: RequestContext) throws(Problem) -> Int64 {
        try FilmID.require(context.routing.parameters["id"] ?? "", field: "id")
    }

    /// The body as a JSON object, after the media-type and size checks of SPEC §1.3.
    private func jsonObject(_ request: Request) throws(Problem) -> [String: JSONValue] {
        guard let contentType = request.headers["Content-Type"], MediaType.isJSON(contentType) else {
            throw Problem(.unsupportedMediaType, type: "unsupported-media-type",
                          detail: "Send the film as Content-Type: application/json.")
        }
        guard request.body.count <= maxBodyBytes else {
            throw Problem(.contentTooLarge, type: "content-too-large",
                          detail: "The request body is larger than \(maxBodyBytes) bytes.")
        }
        return try JSONValue.object(from: request.body)
    }
}

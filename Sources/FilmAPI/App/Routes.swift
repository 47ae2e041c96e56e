/// The route table on one screen: every path, method, role and handler of filmd.
public struct Routes {
    public static func router(films: FilmController, health: HealthController, metrics: MetricsEndpoint,
                              assets: AssetController = AssetController()) -> Router {
        var router = Router()
        // The tutorial's API.
        router.add(.GET, "/", Endpoint(role: .reader, roleForRequest: votes, immediate: films.rootImmediately, deferring: films.root))
        router.add(.POST, "/add_film", Endpoint(role: .editor, deferring: films.add))
        router.add(.HEAD, "/add_film", Endpoint(role: .editor, answering: films.probeAdd))
        // The resource API.
        router.add(.GET, "/films", Endpoint(role: .reader, answering: films.list))
        router.add(.POST, "/films", Endpoint(role: .editor, deferring: films.add))
        router.add(.GET, "/films/random", Endpoint(role: .reader, answering: films.random))
        router.add(.GET, "/films/{id}", Endpoint(role: .reader, answering: films.get))
        router.add(.PATCH, "/films/{id}", Endpoint(role: .editor, handler: films.patch))
        router.add(.DELETE, "/films/{id}", Endpoint(role: .admin, handler: films.delete))
        router.add(.POST, "/films/{id}/like", Endpoint(role: .voter, deferring: films.vote(.like)))
        router.add(.POST, "/films/{id}/dislike", Endpoint(role: .voter, deferring: films.vote(.dislike)))
        // Operations: no role, not rate limited.
        router.add(.GET, "/healthz", Endpoint(role: nil, rateLimited: false, answering: health.live))
        router.add(.GET, "/readyz", Endpoint(role: nil, rateLimited: false, handler: health.ready))
        router.add(.GET, "/metrics", Endpoint(role: nil, rateLimited: false, answering: metrics.scrape))
        // Clients.
        router.add(.GET, "/openapi.json", Endpoint(role: nil, answering: assets.openAPI))
        router.add(.GET, "/console", Endpoint(role: nil, answering: assets.consolePage))
        router.add(.GET, "/console/console.js", Endpoint(role: nil, answering: assets.consoleScript))
        router.add(.GET, "/console/console.css", Endpoint(role: nil, answering: assets.consoleStyle))
        return router
    }

    /// `GET /?like=ID` and `?dislike=ID` record a vote: they need the voter role.
    static let votes: @Sendable (Request) -> Role? = { request in
        request.query.pairs.contains { $0.name == "like" || $0.name == "dislike" } ? .voter : nil
    }
}

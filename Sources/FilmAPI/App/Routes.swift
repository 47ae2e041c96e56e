/// One route of filmd, as data: what the limiter, `filmd routes` and the OpenAPI test read,
/// and which handler serves it (taken from the `Handlers` of the event loop that serves it).
struct Route: Sendable {
    let method: HTTPMethod
    let template: String
    /// The least role that may call it; nil: anyone, keys ignored for the decision.
    let role: Role?
    /// Whether the rate limiter counts it (operations routes are exempt).
    let rateLimited: Bool
    let roleForRequest: (@Sendable (Request) -> Role?)?
    let handler: @Sendable (Handlers) -> Handler

    init(_ method: HTTPMethod, _ template: String, _ role: Role?, rateLimited: Bool = true,
         roleForRequest: (@Sendable (Request) -> Role?)? = nil, _ handler: @escaping @Sendable (Handlers) -> Handler) {
        self.method = method
        self.template = template
        self.role = role
        self.rateLimited = rateLimited
        self.roleForRequest = roleForRequest
        self.handler = handler
    }
}

/// The handlers of one event loop (its films controller reads on the loop's own connection).
struct Handlers: Sendable {
    let films: FilmController
    let health: HealthController
    let metrics: MetricsEndpoint
    let assets: AssetController

    init(films: FilmController, health: HealthController, metrics: MetricsEndpoint, assets: AssetController = AssetController()) {
        self.films = films
        self.health = health
        self.metrics = metrics
        self.assets = assets
    }
}

/// The route table on one screen: every path, method, role and handler of filmd.
enum Routes {
    static let table: [Route] = [
        // The tutorial's API.
        Route(.GET, "/", .reader, roleForRequest: votes) { $0.films.root },
        Route(.POST, "/add_film", .editor) { $0.films.add },
        Route(.HEAD, "/add_film", .editor) { $0.films.probeAdd },
        // The resource API.
        Route(.GET, "/films", .reader) { $0.films.list },
        Route(.POST, "/films", .editor) { $0.films.add },
        Route(.GET, "/films/random", .reader) { $0.films.random },
        Route(.GET, "/films/{id}", .reader) { $0.films.get },
        Route(.PATCH, "/films/{id}", .editor) { $0.films.patch },
        Route(.DELETE, "/films/{id}", .admin) { $0.films.delete },
        Route(.POST, "/films/{id}/like", .voter) { $0.films.vote(.like) },
        Route(.POST, "/films/{id}/dislike", .voter) { $0.films.vote(.dislike) },
        // Operations: no role, not rate limited.
        Route(.GET, "/healthz", nil, rateLimited: false) { $0.health.live },
        Route(.GET, "/readyz", nil, rateLimited: false) { $0.health.ready },
        Route(.GET, "/metrics", nil, rateLimited: false) { now($0.metrics.scrape) },
        // Clients.
        Route(.GET, "/openapi.json", nil) { now($0.assets.openAPI) },
        Route(.GET, "/console", nil) { now($0.assets.consolePage) },
        Route(.GET, "/console/console.js", nil) { now($0.assets.consoleScript) },
        Route(.GET, "/console/console.css", nil) { now($0.assets.consoleStyle) },
    ]

    /// The router over `table`, served by `handlers`.
    static func router(_ handlers: Handlers) -> Router {
        var router = Router()
        for route in table {
            router.add(route.method, route.template, Endpoint(role: route.role, rateLimited: route.rateLimited,
                                                              roleForRequest: route.roleForRequest, handler: route.handler(handlers)))
        }
        return router
    }

    /// The routes the limiter counts (health, readiness and metrics are exempt and get no counters).
    static var limited: [(method: HTTPMethod, template: String)] {
        table.filter(\.rateLimited).map { ($0.method, $0.template) }
    }

    /// `GET /?like=ID` and `?dislike=ID` record a vote: they need the voter role.
    static let votes: @Sendable (Request) -> Role? = { request in
        request.query.pairs.contains { $0.name == "like" || $0.name == "dislike" } ? .voter : nil
    }

    /// A handler that always answers at once.
    private static func now(_ handler: @escaping @Sendable (Request, RequestContext) throws -> Response) -> Handler {
        { request, context in .now(try handler(request, context)) }
    }
}

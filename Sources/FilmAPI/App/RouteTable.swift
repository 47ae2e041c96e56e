/// The route table as data (`filmd routes`; the OpenAPI test compares it with the document).
public enum RouteTable {
    /// The router with handlers that are never called: for what the table says, not for serving.
    public static func router() -> Router {
        let films = FilmController(store: NoStore(), reader: NoStore(), maxBodyBytes: 0)
        return Routes.router(films: films, health: HealthController(store: NoStore(), lifecycle: Lifecycle()),
                             metrics: MetricsEndpoint(registry: MetricsRegistry()))
    }

    public static func json() -> String {
        let router = router()
        var json = JSONWriter()
        json.beginArray()
        for (method, template) in router.table {
            json.beginObject()
            json.field("method", method.rawValue)
            json.field("path", template)
            json.endObject()
        }
        json.endArray()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    /// Handlers need a store to exist; listing routes never calls one.
    private struct NoStore: FilmStore, FilmReader {
        struct Unused: Error {}
        func randomFilm() throws -> Film? { throw Unused() }
        func film(id: Int64) throws -> Film? { throw Unused() }
        func films(page: FilmPageRequest) throws -> [Film] { throw Unused() }
        func add(_ film: FilmInput) async throws -> Film { throw Unused() }
        func vote(_ vote: Vote, film id: Int64) async throws -> Film? { throw Unused() }
        func update(id: Int64, with patch: FilmPatch) async throws -> Film? { throw Unused() }
        func delete(id: Int64) async throws -> Bool { throw Unused() }
        func isHealthy() async -> Bool { false }
    }
}

import Testing
@testable import FilmAPI

@Suite struct RouterTests {
    let router: Router = {
        var router = Router()
        let ok: Handler = { _, _ in .now(Response(status: .ok)) }
        router.add(.GET, "/", Endpoint(role: nil, handler: ok))
        router.add(.GET, "/films", Endpoint(role: .reader, handler: ok))
        router.add(.POST, "/films", Endpoint(role: .editor, handler: ok))
        router.add(.GET, "/films/random", Endpoint(role: .reader, handler: ok))
        router.add(.GET, "/films/{id}", Endpoint(role: .reader, handler: ok))
        router.add(.DELETE, "/films/{id}", Endpoint(role: .admin, handler: ok))
        return router
    }()

    @Test func literalRouteWinsOverParameter() {
        guard case .found(let template, _, let parameters) = router.match(.GET, path: "/films/random") else {
            Issue.record("no match"); return
        }
        #expect(template == "/films/random")
        #expect(parameters.isEmpty)
    }

    /// Routes are tried in the order they were added: a literal added after a template that
    /// matches it stays behind that template, the literal shortcut notwithstanding.
    @Test func anEarlierTemplateKeepsWinningOverALaterLiteral() {
        var router = Router()
        let ok: Handler = { _, _ in .now(Response(status: .ok)) }
        router.add(.GET, "/films/{id}", Endpoint(role: .reader, handler: ok))
        router.add(.POST, "/films/export", Endpoint(role: .admin, handler: ok))
        router.add(.GET, "/health", Endpoint(role: nil, handler: ok))
        guard case .found(let template, _, let parameters) = router.match(.GET, path: "/films/export") else {
            Issue.record("no match"); return
        }
        #expect(template == "/films/{id}" && parameters == ["id": "export"])
        guard case .found(let health, _, _) = router.match(.HEAD, path: "/health") else { Issue.record("no match"); return }
        #expect(health == "/health")
        guard case .methodNotAllowed(let path, let allow) = router.match(.POST, path: "/health") else {
            Issue.record("expected 405"); return
        }
        #expect(path == "/health" && allow == [.GET, .HEAD, .OPTIONS])
        guard case .notFound = router.match(.GET, path: "/health/") else { Issue.record("a trailing slash is another path"); return }
    }

    @Test func parameterIsBound() {
        guard case .found(let template, let endpoint, let parameters) = router.match(.DELETE, path: "/films/42") else {
            Issue.record("no match"); return
        }
        #expect(template == "/films/{id}")
        #expect(parameters == ["id": "42"])
        #expect(endpoint.role == .admin)
    }

    @Test func headFallsBackToGet() {
        guard case .found(let template, _, _) = router.match(.HEAD, path: "/films") else { Issue.record("no match"); return }
        #expect(template == "/films")
    }

    @Test func wrongMethodListsAllowed() {
        guard case .methodNotAllowed(_, let allow) = router.match(.PUT, path: "/films/7") else { Issue.record("expected 405"); return }
        #expect(allow == [.GET, .HEAD, .DELETE, .OPTIONS])
    }

    @Test func rootIsTheOneEmptySegment() {
        guard case .found(let template, _, _) = router.match(.GET, path: "/") else { Issue.record("no match"); return }
        #expect(template == "/")
    }

    @Test(arguments: ["/nope", "/films/", "/films/1/2/3", "", "/films//x", "//", "films", "films/random", "/films/random/"])
    func unknownPathsAreNotFound(path: String) {
        // Not a match, and not a 405 either (an empty segment never binds a parameter: /films/ is no /films/{id}).
        let match = router.match(.GET, path: path)
        guard case .notFound = match else { Issue.record("\(path.debugDescription): \(match)"); return }
    }

    @Test func tableListsEveryMethodOnce() {
        let table = router.table.map { "\($0.method.rawValue) \($0.template)" }
        #expect(table == ["GET /", "GET /films", "POST /films", "GET /films/random", "DELETE /films/{id}", "GET /films/{id}"])
    }
}

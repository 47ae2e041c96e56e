/// What a route allows a caller and what answers it: the least role that may call it (`nil` =
/// anyone, keys ignored for the decision), whether the rate limiter counts it, and its handler.
/// A class: every request carries its endpoint from the router through the chain, and a
/// struct of closures cost retains and releases at each of those steps.
final class Endpoint: Sendable {
    let role: Role?
    let rateLimited: Bool
    let handler: Handler
    /// A stricter role some requests of the route need (`GET /?like=ID` needs `voter`).
    let roleForRequest: (@Sendable (Request) -> Role?)?

    init(role: Role?, rateLimited: Bool = true, roleForRequest: (@Sendable (Request) -> Role?)? = nil,
         handler: @escaping Handler) {
        self.role = role
        self.rateLimited = rateLimited
        self.handler = handler
        self.roleForRequest = roleForRequest
    }

    /// The least role that may make `request` (nil: anyone).
    func requiredRole(for request: Request) -> Role? {
        guard let role else { return nil }
        return max(role, roleForRequest?(request) ?? role)
    }
}

/// Maps a method and a raw path to an endpoint. Templates are literal segments and `{name}`
/// parameters, matched segment by segment; the table is built once at start.
struct Router: Sendable {
    enum Match: Sendable {
        case found(template: String, endpoint: Endpoint, parameters: [String: String])
        case methodNotAllowed(template: String, allow: [HTTPMethod])
        case notFound
    }

    private struct Route: Sendable {
        var template: String
        var segments: [Substring]
        var endpoints: [HTTPMethod: Endpoint]
    }

    private var routes: [Route] = []
    /// Templates without parameters that no earlier route also matches, by their path: one
    /// lookup instead of splitting the path (GET / is most of the traffic).
    private var literalRoutes: [String: Int] = [:]

    init() {}

    /// Adds `endpoint` for `method` at `template`; a GET also answers HEAD unless HEAD is added.
    mutating func add(_ method: HTTPMethod, _ template: String, _ endpoint: Endpoint) {
        if let index = routes.firstIndex(where: { $0.template == template }) {
            routes[index].endpoints[method] = endpoint
            return
        }
        let segments = Self.segments(of: template)
        // Routes are tried in the order they were added; a literal that an earlier template
        // already matches must keep losing to it, so it goes by the slow path.
        if !segments.contains(where: Self.isParameter), !routes.contains(where: { Self.bind($0.segments, to: segments) != nil }) {
            literalRoutes[template] = routes.count
        }
        routes.append(Route(template: template, segments: segments, endpoints: [method: endpoint]))
    }

    /// Every template with its methods (without the implied HEAD and OPTIONS), for
    /// `filmd routes` and the OpenAPI test.
    var table: [(method: HTTPMethod, template: String)] {
        routes.flatMap { route in
            route.endpoints.keys.filter { $0 != .HEAD || route.endpoints[.GET] == nil }
                .sorted { $0.rawValue < $1.rawValue }
                .map { ($0, route.template) }
        }
    }

    func match(_ method: HTTPMethod, path: String) -> Match {
        if let index = literalRoutes[path] { return match(method, routes[index], parameters: [:]) }
        let parts = Self.segments(of: path)
        // By index: `for route in routes` copied each route (three retains and releases).
        for index in routes.indices where routes[index].segments.count == parts.count {
            guard let parameters = Self.bind(routes[index].segments, to: parts) else { continue }
            return match(method, routes[index], parameters: parameters)
        }
        return .notFound
    }

    private func match(_ method: HTTPMethod, _ route: Route, parameters: [String: String]) -> Match {
        if let endpoint = route.endpoints[method] ?? (method == .HEAD ? route.endpoints[.GET] : nil) {
            return .found(template: route.template, endpoint: endpoint, parameters: parameters)
        }
        return .methodNotAllowed(template: route.template, allow: allowedMethods(route))
    }

    /// The methods a path answers, for `Allow` and CORS preflights (nil: no such path).
    func methods(forPath path: String) -> [HTTPMethod]? {
        let parts = Self.segments(of: path)
        for route in routes where route.segments.count == parts.count {
            if Self.bind(route.segments, to: parts) != nil { return allowedMethods(route) }
        }
        return nil
    }

    private func allowedMethods(_ route: Route) -> [HTTPMethod] {
        var methods = Set(route.endpoints.keys)
        if methods.contains(.GET) { methods.insert(.HEAD) }
        methods.insert(.OPTIONS)
        let order: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .OPTIONS]
        return order.filter(methods.contains)
    }

    /// What follows each `/` of `path`, empty segments included ("/" is one empty segment).
    /// On the UTF-8 view: the generic `split` cost more than the rest of the match.
    private static func segments(of path: String) -> [Substring] {
        var parts: [Substring] = []
        parts.reserveCapacity(4)
        let utf8 = path.utf8
        var start: String.Index? = nil
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                if let start { parts.append(path[start..<index]) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if let start { parts.append(path[start..<utf8.endIndex]) }
        return parts
    }

    private static func isParameter(_ segment: Substring) -> Bool { segment.first == "{" && segment.last == "}" }

    private static func bind(_ template: [Substring], to parts: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(template, parts) {
            if isParameter(expected) {
                guard !actual.isEmpty else { return nil }
                parameters[String(expected.dropFirst().dropLast())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

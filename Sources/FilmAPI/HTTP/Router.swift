/// A handler: the innermost responder of the chain.
public typealias Responder = @Sendable (Request, RequestContext) async throws -> Response

/// A handler that answers without suspending (a read on the loop's own connection): nil when
/// this request needs the suspending `Responder` after all (`GET /?like=` writes).
public typealias ImmediateResponder = @Sendable (Request, RequestContext) throws -> Response?

/// A handler that answers after a write without a task: it hands `completion` to the store
/// (or calls it with an error) and returns; the completion runs on the request's loop. A
/// thrown error is answered at once.
public typealias DeferredResponder = @Sendable (Request, RequestContext, Completion<Response>) throws -> Void

/// What a route allows a caller: the least role that may call it (`nil` = anyone, keys ignored
/// for the decision) and whether the rate limiter counts it.
public struct Endpoint: Sendable {
    public var role: Role?
    public var rateLimited: Bool
    public var handler: Responder
    /// A stricter role some requests of the route need (`GET /?like=ID` needs `voter`).
    public var roleForRequest: (@Sendable (Request) -> Role?)?
    /// Answers the requests it can without a task (see `MiddlewareChain.start`).
    public var immediate: ImmediateResponder?
    /// Answers the rest without a task, after a write (see `MiddlewareChain.start`).
    public var deferred: DeferredResponder?

    public init(role: Role?, rateLimited: Bool = true, handler: @escaping Responder,
                roleForRequest: (@Sendable (Request) -> Role?)? = nil, immediate: ImmediateResponder? = nil) {
        self.role = role
        self.rateLimited = rateLimited
        self.handler = handler
        self.roleForRequest = roleForRequest
        self.immediate = immediate
    }

    /// An endpoint that answers after a write: `deferred` takes the requests `immediate` does
    /// not answer; awaited in a task only where no event loop serves (`respond(to:)` in tests).
    public init(role: Role?, rateLimited: Bool = true, roleForRequest: (@Sendable (Request) -> Role?)? = nil,
                immediate: ImmediateResponder? = nil, deferring deferred: @escaping DeferredResponder) {
        self.init(role: role, rateLimited: rateLimited, handler: { request, context in
            try await Completion.awaiting { try deferred(request, context, $0) }
        }, roleForRequest: roleForRequest, immediate: immediate)
        self.deferred = deferred
    }

    /// An endpoint whose handler never suspends.
    public init(role: Role?, rateLimited: Bool = true,
                answering handler: @escaping @Sendable (Request, RequestContext) throws -> Response) {
        self.init(role: role, rateLimited: rateLimited, handler: { try handler($0, $1) }, immediate: { try handler($0, $1) })
    }

    /// The least role that may make `request` (nil: anyone).
    public func requiredRole(for request: Request) -> Role? {
        guard let role else { return nil }
        return max(role, roleForRequest?(request) ?? role)
    }
}

/// Maps a method and a raw path to an endpoint. Templates are literal segments and `{name}`
/// parameters, matched segment by segment; the table is built once at start.
public struct Router: Sendable {
    public enum Match: Sendable {
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

    public init() {}

    /// Adds `endpoint` for `method` at `template`; a GET also answers HEAD unless HEAD is added.
    public mutating func add(_ method: HTTPMethod, _ template: String, _ endpoint: Endpoint) {
        if let index = routes.firstIndex(where: { $0.template == template }) {
            routes[index].endpoints[method] = endpoint
        } else {
            routes.append(Route(template: template, segments: Self.segments(of: template), endpoints: [method: endpoint]))
        }
    }

    /// Every template with its methods (without the implied HEAD and OPTIONS), for
    /// `filmd routes` and the OpenAPI test.
    public var table: [(method: HTTPMethod, template: String)] {
        routes.flatMap { route in
            route.endpoints.keys.filter { $0 != .HEAD || route.endpoints[.GET] == nil }
                .sorted { $0.rawValue < $1.rawValue }
                .map { ($0, route.template) }
        }
    }

    public func match(_ method: HTTPMethod, path: String) -> Match {
        let parts = Self.segments(of: path)
        for route in routes where route.segments.count == parts.count {
            guard let parameters = Self.bind(route.segments, to: parts) else { continue }
            if let endpoint = route.endpoints[method] ?? (method == .HEAD ? route.endpoints[.GET] : nil) {
                return .found(template: route.template, endpoint: endpoint, parameters: parameters)
            }
            return .methodNotAllowed(template: route.template, allow: allowedMethods(route))
        }
        return .notFound
    }

    /// The methods a path answers, for `Allow` and CORS preflights (nil: no such path).
    public func methods(forPath path: String) -> [HTTPMethod]? {
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

    private static func bind(_ template: [Substring], to parts: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(template, parts) {
            if expected.first == "{", expected.last == "}" {
                guard !actual.isEmpty else { return nil }
                parameters[String(expected.dropFirst().dropLast())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

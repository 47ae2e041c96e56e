/// One JSON line per request when its response is ready (SPEC §5), rejected requests
/// included. Written straight into the sink with `JSONWriter`: a swift-log metadata dictionary
/// per request costs more than the rest of the log line.
public struct RequestLogMiddleware: Middleware {
    let log: RequestLog

    public init(log: RequestLog) { self.log = log }

    public func handle(_ request: Request, context: RequestContext, next: Responder) async throws -> Response {
        let response = try await next(request, context)
        log.record(request: request, context: context, response: response)
        return response
    }
}

/// The request log line's writer, shared by the chain and the transport's refusals.
public struct RequestLog: Sendable {
    let sink: LogSink
    let enabled: Bool

    public init(sink: LogSink, enabled: Bool) {
        self.sink = sink
        self.enabled = enabled
    }

    static let userAgentLimit = 256
    static let pathLimit = 512

    public func record(request: Request, context: RequestContext, response: Response) {
        guard enabled else { return }
        let elapsed = ContinuousClock.now - context.startedAt
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var json = JSONWriter(capacity: 512)
        json.beginObject()
        json.field("ts", LogTimestamp.now())
        json.field("level", response.status.code >= 500 ? "error" : "info")
        json.field("msg", "request")
        json.field("http.request.method", request.method == .other ? "_OTHER" : request.method.rawValue)
        json.field("url.path", Self.cap(request.path, Self.pathLimit))
        json.field("http.route", context.route)
        json.field("http.response.status_code", response.status.code)
        json.key("duration_ms")
        json.double((milliseconds * 1000).rounded() / 1000)
        json.field("http.response.body.size", request.method == .HEAD ? 0 : response.body.count)
        json.field("client.address", context.clientAddress)
        json.field("network.peer.address", request.peer.host)
        json.field("user_agent.original", request.headers["User-Agent"].map { Self.cap($0, Self.userAgentLimit) })
        json.field("http.request.id", context.requestID)
        json.field("auth.key_id", context.keyID)
        json.field("ratelimit.decision", context.rateLimitDecision)
        if let event = context.securityEvent { json.field("security.event", event) }
        json.endObject()
        sink.write(json.bytes)
    }

    static func cap(_ text: String, _ limit: Int) -> String {
        text.utf8.count <= limit ? text : String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…"
    }
}

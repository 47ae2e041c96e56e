/// One JSON line per request when its response is ready (SPEC §5), rejected requests
/// included. Written straight into the sink with `JSONWriter`: a swift-log metadata dictionary
/// per request costs more than the rest of the log line.
struct RequestLogMiddleware: Middleware {
    let log: RequestLog

    init(log: RequestLog) { self.log = log }

    func leave(_ request: Request, context: RequestContext, response: inout Response) {
        log.record(request: request, context: context, response: response)
    }
}

/// The request log line's writer, shared by the chain and the transport's refusals.
struct RequestLog: Sendable {
    let sink: LogSink
    let level: LogLevelControl

    init(sink: LogSink, level: LogLevelControl) {
        self.sink = sink
        self.level = level
    }

    static let userAgentLimit = 256
    static let pathLimit = 512

    func record(request: Request, context: RequestContext, response: Response) {
        let event = context.facts.securityEvent ?? Self.securityEvent(for: response.status)
        if level.allows(.info) { recordRequest(request: request, context: context, response: response, event: event) }
        if let event, level.allows(.warning) { recordSecurityEvent(event, request: request, context: context, status: response.status) }
    }

    private func recordRequest(request: Request, context: RequestContext, response: Response, event: String?) {
        let elapsed = (ContinuousClock.now - context.facts.startedAt).components  // once: each read converts
        let microseconds = Int(elapsed.seconds) * 1_000_000 + Int(elapsed.attoseconds / 1_000_000_000_000)
        var json = JSONWriter(capacity: 512)
        json.beginObject()
        json.key(literal: "ts")
        json.raw { LogTimestamp.appendNow(quotedTo: &$0) }
        json.field(literal: "level", response.status.code >= 500 ? "error" : "info")
        json.field(literal: "msg", "request")
        json.field(literal: "http.request.method", RequestDurations.methodLabel(request.method))
        json.field(literal: "url.path", Self.cap(request.path, Self.pathLimit))
        json.field(literal: "http.route", context.routing.template)
        json.field(literal: "http.response.status_code", response.status.code)
        json.key(literal: "duration_ms")
        json.thousandths(microseconds)
        json.field(literal: "http.response.body.size", request.method == .HEAD ? 0 : response.body.count)
        json.field(literal: "client.address", context.facts.clientAddress)
        json.field(literal: "network.peer.address", request.peer.host)
        json.field(literal: "user_agent.original", request.headers["User-Agent"].map { Self.cap($0, Self.userAgentLimit) })
        json.field(literal: "http.request.id", context.facts.requestID)
        json.field(literal: "auth.key_id", context.facts.keyID)
        json.field(literal: "ratelimit.decision", context.facts.rateLimitDecision)
        if let event { json.field(literal: "security.event", event) }
        json.endObject()
        json.withBytes { sink.write($0) }
    }

    /// Security events get a line of their own, easy to alert on: `"msg":"security event"`.
    private func recordSecurityEvent(_ event: String, request: Request, context: RequestContext, status: HTTPStatus) {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("ts", LogTimestamp.now())
        json.field("level", "warning")
        json.field("msg", "security event")
        json.field("security.event", event)
        json.field("http.request.method", RequestDurations.methodLabel(request.method))
        json.field("http.route", context.routing.template)
        json.field("http.response.status_code", status.code)
        json.field("client.address", context.facts.clientAddress)
        json.field("http.request.id", context.facts.requestID)
        json.field("auth.key_id", context.facts.keyID)
        json.endObject()
        json.withBytes { sink.write($0) }
    }

    /// The security event a response amounts to when the code that refused did not name one.
    static func securityEvent(for status: HTTPStatus) -> String? {
        switch status.code {
        case 401: "auth_failure"
        case 403: "forbidden"
        case 429: "rate_limited"
        case 400, 413, 414, 415, 431: "validation_failure"
        default: nil
        }
    }

    static func cap(_ text: String, _ limit: Int) -> String {
        text.utf8.count <= limit ? text : String(decoding: text.utf8.prefix(limit), as: UTF8.self) + "…"
    }
}

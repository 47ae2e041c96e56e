internal import CLibEvent

/// One evhttp server on one event loop. Every evhttp call happens on that loop's thread:
/// requests arrive there, answers that come later are delivered there (their completions run
/// on the loop), and replies are sent from it.
final class HTTPServer: @unchecked Sendable {
    let loop: EventLoop
    private let http: OpaquePointer
    private var handler: any HTTPHandler
    private var limits: TransportLimits
    private let tls: TLSContext?
    private let quota: ConnectionQuota?
    /// Requests handed to the handler and not yet answered (loop thread only).
    fileprivate var answering = 0
    /// Once set, every reply closes its connection (loop thread only).
    private var draining = false

    /// `quota` decides on each new connection by its peer (shared by every loop's server).
    init(loop: EventLoop, handler: any HTTPHandler, limits: TransportLimits, tls: TLSContext? = nil,
         quota: ConnectionQuota? = nil) throws {
        guard let http = evhttp_new(loop.base) else { throw ServerError.eventLoop }
        self.loop = loop
        self.http = http
        self.handler = handler
        self.limits = limits
        self.tls = tls
        self.quota = quota
        // Every method, those libevent does not know among them (its "unknown" bit), reaches
        // the router: a known path answers 405 with Allow, whatever the method.
        let unknownMethod: UInt32 = 1 << 15
        let everyMethod = EVHTTP_REQ_GET.rawValue | EVHTTP_REQ_POST.rawValue | EVHTTP_REQ_HEAD.rawValue
            | EVHTTP_REQ_PUT.rawValue | EVHTTP_REQ_DELETE.rawValue | EVHTTP_REQ_OPTIONS.rawValue
            | EVHTTP_REQ_TRACE.rawValue | EVHTTP_REQ_CONNECT.rawValue | EVHTTP_REQ_PATCH.rawValue | unknownMethod
        evhttp_set_allowed_methods(http, UInt16(everyMethod))
        evhttp_set_default_content_type(http, nil)
        let context = Unmanaged.passUnretained(self).toOpaque()
        evhttp_set_gencb(http, { request, context in
            guard let request, let context else { return }
            Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().receive(request)
        }, context)
        let hooks = filmd_guard_hooks(
            refuse: { request, status, context in
                guard let request, let context else { return }
                Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().refuse(request, status: Int(status))
            },
            admit: quota == nil ? nil : { peer, context in
                guard let peer, let context else { return 1 }
                return Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().admit(peer.pointee)
            },
            release: quota == nil ? nil : { peer, context in
                guard let peer, let context else { return }
                Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().quota?.release(IPAddress(peer.pointee))
            },
            context: context)
        // (Initialised in full by now: a throw runs deinit, which frees `http`.)
        guard filmd_http_guard(http, loop.base, hooks, Self.guardLimits(limits), tls?.pointer) == 0 else {
            throw ServerError.listen("too many servers in one process")
        }
        apply(limits)
    }

    deinit {
        filmd_http_unguard(http)
        evhttp_free(http)
    }

    /// Serves connections accepted on `socket`, which stays open when this server stops (other
    /// loops may share it). Loop thread, before or while running.
    func serve(_ socket: ListeningSocket) throws {
        guard filmd_http_guard_listen(http, socket.descriptor) == 0 else {
            throw ServerError.listen("evhttp refused the listening socket")
        }
    }

    /// Requests in flight: with their head received and their body still arriving, handed to
    /// the handler and not yet answered, or answered and not yet written out. Loop thread.
    var inFlight: Int { answering + filmd_http_receiving_bodies(http) + filmd_http_unsent_replies(http) }

    /// Stops accepting new connections; connections already open are served on, and each
    /// reply from now on closes its connection. Loop thread.
    func stopAccepting() {
        filmd_http_guard_stop_listening(http)
        draining = true
    }

    /// Serves later requests with `handler` (a reloaded configuration). Loop thread.
    func replace(handler: any HTTPHandler) {
        loop.checkIsolated()
        self.handler = handler
    }

    func apply(_ limits: TransportLimits) {
        self.limits = limits
        evhttp_set_max_body_size(http, Int(limits.maxBodyBytes))
        evhttp_set_max_headers_size(http, Int(limits.maxHeaderBytes))
        evhttp_set_timeout(http, Int32(limits.idleTimeoutSeconds))
        filmd_http_guard_update(http, Self.guardLimits(limits))
    }

    private static func guardLimits(_ limits: TransportLimits) -> filmd_guard_limits {
        filmd_guard_limits(header_timeout_ms: limits.headerTimeoutMilliseconds, request_timeout_ms: limits.requestTimeoutMilliseconds,
                           max_connections: limits.maxConnections)
    }

    private func admit(_ peer: filmd_peer) -> Int32 {
        switch quota?.admit(IPAddress(peer)) ?? .uncounted {
        case .refused: 0
        case .uncounted: 1
        case .counted: 2
        }
    }

    var openConnections: Int { filmd_http_open_connections(http) }

    private func receive(_ raw: RawRequest) {
        answering += 1
        let reply = PendingReply(raw: raw, server: self)
        let request: Request
        do {
            request = try RequestReader.read(raw, limits: limits)
        } catch {
            reply.send(handler.refuse(error.status, method: RequestReader.method(of: raw), target: "",
                                      peer: RequestReader.peer(of: raw)), close: true)
            return
        }
        switch handler.start(request) {
        case .now(let response):
            reply.send(response, close: false)
        case .later(let start):
            // Completions run on this loop: the store and the layers that wait deliver there.
            start(Completion(on: loop) { result in
                switch result {
                case .success(let response): reply.send(response, close: false)
                case .failure: reply.send(Self.unanswered, close: true)  // not reached: handlers answer errors
                }
            })
        }
    }

    private static let unanswered = Problem(.internalServerError, type: "internal-error",
                                            detail: "The request could not be answered.").response(requestID: "")

    /// Requests refused before any handler ran: libevent's error path (malformed, too large)
    /// and the guard's (framing, deadlines). The connection closes after the reply.
    private func refuse(_ raw: RawRequest, status: Int) {
        // A request line that never parsed leaves the version at 0.0; answer as HTTP/1.1.
        if raw.pointee.major != 1 {
            raw.pointee.major = 1
            raw.pointee.minor = 1
        }
        // The method and target are known once the request line parsed (framing, 408).
        let target = evhttp_request_get_uri(raw).map { String(cString: $0) } ?? ""
        answering += 1
        let response = handler.refuse(HTTPStatus(status), method: RequestReader.method(of: raw), target: target,
                                      peer: RequestReader.peer(of: raw))
        PendingReply(raw: raw, server: self).send(response, close: true)
    }

    /// Exactly one reply per request: the wrapper is consumed by `send`.
    private struct PendingReply: @unchecked Sendable {
        let raw: RawRequest
        let server: HTTPServer

        func send(_ response: Response, close: Bool) {
            server.loop.checkIsolated()
            ReplyWriter.write(response, to: raw, close: close || server.draining)
            server.answering -= 1
        }
    }
}

extension IPAddress {
    /// The peer the guard read from the accepted socket's address.
    fileprivate init(_ peer: filmd_peer) {
        self.init(high: peer.high, low: peer.low)
    }
}

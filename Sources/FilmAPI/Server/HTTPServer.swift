internal import CLibEvent

/// One evhttp server on one event loop. Every evhttp call happens on that loop's thread:
/// requests arrive there, their tasks are isolated to it (`LoopIsolation`), and replies are
/// sent from it.
public final class HTTPServer: @unchecked Sendable {
    public let loop: EventLoop
    private let isolation: LoopIsolation
    private let http: OpaquePointer
    private var handler: any HTTPHandler
    private var limits: TransportLimits
    private var bound: [OpaquePointer] = []
    private let tls: TLSContext?
    /// Requests handed to the handler and not yet answered (loop thread only).
    fileprivate var answering = 0
    /// Once set, every reply closes its connection (loop thread only).
    private var draining = false

    public init(loop: EventLoop, handler: any HTTPHandler, limits: TransportLimits, tls: TLSContext? = nil) throws {
        guard let http = evhttp_new(loop.base) else { throw ServerError.eventLoop }
        self.loop = loop
        isolation = LoopIsolation(loop: loop)
        self.http = http
        self.handler = handler
        self.limits = limits
        self.tls = tls
        let everyMethod = EVHTTP_REQ_GET.rawValue | EVHTTP_REQ_POST.rawValue | EVHTTP_REQ_HEAD.rawValue
            | EVHTTP_REQ_PUT.rawValue | EVHTTP_REQ_DELETE.rawValue | EVHTTP_REQ_OPTIONS.rawValue
            | EVHTTP_REQ_TRACE.rawValue | EVHTTP_REQ_CONNECT.rawValue | EVHTTP_REQ_PATCH.rawValue
        evhttp_set_allowed_methods(http, UInt16(everyMethod))
        evhttp_set_default_content_type(http, nil)
        apply(limits)
        let context = Unmanaged.passUnretained(self).toOpaque()
        evhttp_set_gencb(http, { request, context in
            guard let request, let context else { return }
            Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().receive(request)
        }, context)
    }

    deinit {
        filmd_http_unguard(http)
        evhttp_free(http)
    }

    /// Serves connections accepted on `socket`. Loop thread, before or while running.
    public func serve(_ socket: ListeningSocket) throws {
        guard let handle = evhttp_accept_socket_with_handle(http, socket.descriptor) else {
            throw ServerError.listen("evhttp refused the listening socket")
        }
        bound.append(handle)
        let context = Unmanaged.passUnretained(self).toOpaque()
        // The guard owns the listener of the first socket for its connection cap.
        if bound.count == 1 {
            let rc = filmd_http_guard(http, loop.base, evhttp_bound_socket_get_listener(handle), { request, status, context in
                guard let request, let context else { return }
                Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().refuse(request, status: Int(status))
            }, context, limits.headerTimeoutMilliseconds, limits.maxConnections, tls?.pointer)
            guard rc == 0 else { throw ServerError.listen("too many servers in one process") }
        }
    }

    /// Requests in flight: handed to the handler and not yet answered, or with their head
    /// received and their body still arriving. Loop thread.
    public var inFlight: Int { answering + filmd_http_receiving_bodies(http) }

    /// Stops accepting new connections; connections already open are served on, and each
    /// reply from now on closes its connection. Loop thread.
    public func stopAccepting() {
        for handle in bound { evhttp_del_accept_socket(http, handle) }
        bound.removeAll()
        draining = true
    }

    /// Serves later requests with `handler` (a reloaded configuration). Loop thread.
    public func replace(handler: any HTTPHandler) {
        loop.checkIsolated()
        self.handler = handler
    }

    public func apply(_ limits: TransportLimits) {
        self.limits = limits
        evhttp_set_max_body_size(http, Int(limits.maxBodyBytes))
        evhttp_set_max_headers_size(http, Int(limits.maxHeaderBytes))
        evhttp_set_timeout(http, Int32(limits.idleTimeoutSeconds))
        filmd_http_guard_update(http, limits.headerTimeoutMilliseconds, limits.maxConnections)
    }

    public var openConnections: Int { filmd_http_open_connections(http) }

    private func receive(_ raw: RawRequest) {
        answering += 1
        let reply = PendingReply(raw: raw, server: self)
        let request: Request
        do {
            request = try RequestReader.read(raw, limits: limits)
        } catch {
            reply.send(handler.refuse(error.status, peer: RequestReader.peer(of: raw)), close: true)
            return
        }
        switch handler.start(request) {
        case .answered(let response):
            reply.send(response, close: false)
        case .suspending(let rest):
            // libevent calls back on the loop thread, which is the isolation's executor.
            isolation.assumeIsolated { isolation in
                isolation.answer(with: rest) { _, response in reply.send(response, close: false) }
            }
        case .deferred(let rest):
            rest(loop) { response in reply.send(response, close: false) }
        }
    }

    /// libevent's own error path (malformed request, over a size limit, unknown method).
    private func refuse(_ raw: RawRequest, status: Int) {
        // A method libevent does not know still has a path: route it, so that a known path
        // answers 405 with Allow (and CORS, logging, metrics see it) like any other method.
        if status == HTTPStatus.notImplemented.code, evhttp_request_get_uri(raw) != nil {
            receive(raw)
            return
        }
        var status = HTTPStatus(status)
        // libevent says 400 (or 413) for an oversize head; the head's size tells them apart.
        if status == .badRequest || status == .contentTooLarge, raw.pointee.headers_size > limits.maxHeaderBytes {
            status = .headerFieldsTooLarge
        }
        // A request line that never parsed leaves the version at 0.0; answer as HTTP/1.1.
        if raw.pointee.major != 1 {
            raw.pointee.major = 1
            raw.pointee.minor = 1
        }
        answering += 1
        PendingReply(raw: raw, server: self).send(handler.refuse(status, peer: RequestReader.peer(of: raw)), close: true)
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

import Foundation
@testable import FilmAPI
#if canImport(Glibc)
import Glibc
#endif

/// Bytes sent to filmd's real HTTP server (`HTTPServer`, so libevent's parser and body reader,
/// the guard, `RequestReader` and the router) over one connection: first with the connection
/// open, as a smuggler keeps it, then half-closed. Every request that reaches the handler is
/// checked, and the server must let go of the connection once the client has closed it.
/// The loop is driven on this thread, one non-blocking iteration at a time.
enum HeadTarget {
    /// Small limits, so that the over-limit paths (414, 431, 413) are a few hundred bytes away.
    static let limits = TransportLimits(maxBodyBytes: 512, maxHeaderBytes: 1024, maxURIBytes: 256,
                                        headerTimeoutMilliseconds: 10_000, idleTimeoutSeconds: 60, maxConnections: 64)

    final class Harness {
        let loop: EventLoop
        let server: HTTPServer
        var address = sockaddr_un()
        var addressLength: socklen_t = 0

        init() {
            loop = try! EventLoop()
            server = try! HTTPServer(loop: loop, handler: RoutingHandler(router: RoutingHandler.tableRouter()), limits: HeadTarget.limits)
            // An abstract Unix socket: no port, no TIME_WAIT, no file left behind.
            address.sun_family = sa_family_t(AF_UNIX)
            let name = Array("filmd-fuzz-\(getpid())".utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { path in
                for (offset, byte) in name.enumerated() { path[offset + 1] = byte }
            }
            addressLength = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.count)
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
            precondition(listener >= 0 && withAddress { bind(listener, $0, addressLength) } == 0 && listen(listener, 16) == 0,
                         "cannot listen: \(String(cString: strerror(errno)))")
            try! server.serve(ListeningSocket(descriptor: listener))
            // `run` makes this thread the loop's (replies check it); stop at once.
            loop.stop()
            loop.run()
        }

        func withAddress<T>(_ body: (UnsafePointer<sockaddr>) -> T) -> T {
            withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }

        private var sink = [UInt8](repeating: 0, count: 4096)

        /// One non-blocking loop iteration; then what the client got: bytes, or -1 at EOF.
        func turn(_ client: Int32) -> Int {
            loop.runOnceWithoutWaiting()
            var total = 0
            while true {
                let count = sink.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                if count > 0 { total += count; continue }
                return count == 0 ? -1 : total
            }
        }
    }

    nonisolated(unsafe) static let harness = Harness()

    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        let h = harness
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        precondition(client >= 0 && h.withAddress { connect(client, $0, h.addressLength) } == 0,
                     "cannot connect: \(String(cString: strerror(errno)))")
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        var sent = 0
        var quiet = 0
        var closed = false
        var rounds = 0
        // Open: send everything, let the server answer what it will (4 idle rounds: done).
        while !closed, quiet < 4, rounds < 10_000 {
            rounds += 1
            var progress = false
            if sent < input.count {
                let count = write(client, input.baseAddress! + sent, input.count - sent)
                if count > 0 { sent += count; progress = true }
            }
            let got = h.turn(client)
            closed = got < 0
            if got > 0 { progress = true }
            quiet = progress || sent < input.count ? 0 : quiet + 1
        }
        // Half-closed: the server sees the end of the stream.
        if !closed {
            shutdown(client, Int32(SHUT_WR))
            rounds = 0
            while !closed, rounds < 1_000 { rounds += 1; closed = h.turn(client) < 0 }
        }
        close(client)
        rounds = 0
        while h.server.openConnections > 0, rounds < 1_000 { rounds += 1; h.loop.runOnceWithoutWaiting() }
        precondition(h.server.openConnections == 0, "the server kept a connection the client had closed")
    }

    /// What every request handed to the application must be, whatever bytes it came from.
    static func check(_ request: Request) {
        precondition(request.target.hasPrefix("/"), "a target that is not origin-form reached the handler")
        // Invalid UTF-8 arrives repaired (one U+FFFD per bad sequence): count that as one byte.
        let targetBytes = request.target.unicodeScalars.reduce(0) { $0 + ($1 == "\u{FFFD}" ? 1 : UTF8.width($1)) }
        precondition(targetBytes <= limits.maxURIBytes, "an over-long target reached the handler")
        precondition(request.body.count <= limits.maxBodyBytes, "an over-size body reached the handler")
        // RFC 9112 §6, which the guard enforces at head completion.
        let lengths = request.headers.values("Content-Length")
        precondition(!(request.headers.contains("Transfer-Encoding") && !lengths.isEmpty),
                     "a request with Transfer-Encoding and Content-Length reached the handler")
        precondition(lengths.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (0x30...0x39).contains($0) } },
                     "a Content-Length that is not digits reached the handler")
        precondition(Set(lengths).count <= 1, "differing Content-Lengths reached the handler")
        let codings = request.headers.values("Transfer-Encoding").joined(separator: ",").split(separator: ",")
        precondition(codings.isEmpty || codings.last!.trimmingCharacters(in: .whitespaces).lowercased() == "chunked",
                     "a Transfer-Encoding whose final coding is not chunked reached the handler")
    }

    /// The router behind the transport: what `Application` would look up first.
    struct RoutingHandler: HTTPHandler {
        let router: Router

        func start(_ request: Request) -> Answer<Response> { .now(answer(request)) }

        /// filmd's route table, each route answered 200 (only the match matters here).
        static func tableRouter() -> Router {
            var router = Router()
            for route in Routes.table {
                router.add(route.method, route.template, Endpoint(role: route.role) { _, _ in .now(Response(status: .ok)) })
            }
            return router
        }

        func refuse(_ status: HTTPStatus, method: HTTPMethod, target: String, peer: PeerAddress) -> Response {
            Response(status: status)
        }

        func answer(_ request: Request) -> Response {
            HeadTarget.check(request)
            _ = request.query.pairs.count
            switch router.match(request.method, path: request.path) {
            case .found(let template, _, _):
                if !request.body.isEmpty, let object = try? JSONValue.object(from: request.body) {
                    _ = try? FilmInput.validated(object)
                }
                return .json(Array(template.utf8))
            case .methodNotAllowed(_, let allow):
                var response = Response(status: .methodNotAllowed)
                response.headers.add("Allow", allow.map(\.rawValue).joined(separator: ", "))
                return response
            case .notFound:
                _ = router.methods(forPath: request.path)
                return Response(status: .notFound)
            }
        }
    }
}

internal import CLibEvent
#if canImport(Glibc)
import Glibc
#endif

typealias RawRequest = UnsafeMutablePointer<evhttp_request>

/// Copies a request out of libevent into a `Request` value, so nothing downstream holds a C
/// pointer. Loop thread only.
enum RequestReader {
    struct Refusal: Error {
        let status: HTTPStatus
    }

    static func read(_ raw: RawRequest, limits: TransportLimits) throws(Refusal) -> Request {
        guard let uriPointer = evhttp_request_get_uri(raw) else { throw Refusal(status: .badRequest) }
        guard strlen(uriPointer) <= limits.maxURIBytes else { throw Refusal(status: .uriTooLong) }
        let target = String(cString: uriPointer)
        guard target.hasPrefix("/") else { throw Refusal(status: .badRequest) }  // no absolute-form or `*`
        return Request(method: method(of: raw), target: target, headers: headers(of: raw),
                       body: body(of: raw), peer: peer(of: raw), isSecure: isSecure(raw))
    }

    static func method(of raw: RawRequest) -> HTTPMethod {
        switch evhttp_request_get_command(raw) {
        case EVHTTP_REQ_GET: .GET
        case EVHTTP_REQ_HEAD: .HEAD
        case EVHTTP_REQ_POST: .POST
        case EVHTTP_REQ_PUT: .PUT
        case EVHTTP_REQ_PATCH: .PATCH
        case EVHTTP_REQ_DELETE: .DELETE
        case EVHTTP_REQ_OPTIONS: .OPTIONS
        case EVHTTP_REQ_TRACE: .TRACE
        case EVHTTP_REQ_CONNECT: .CONNECT
        default: .other
        }
    }

    static func peer(of raw: RawRequest) -> PeerAddress {
        guard let connection = evhttp_request_get_connection(raw) else { return PeerAddress(host: "unknown", port: 0) }
        var host: UnsafeMutablePointer<CChar>?
        var port: UInt16 = 0
        evhttp_connection_get_peer(connection, &host, &port)
        return PeerAddress(host: host.map { String(cString: $0) } ?? "unknown", port: Int(port))
    }

    private static func headers(of raw: RawRequest) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(12)
        var field = filmd_headers_first(evhttp_request_get_input_headers(raw))
        while let current = field {
            if let key = current.pointee.key, let value = current.pointee.value {
                headers.add(String(cString: key), String(cString: value))
            }
            field = filmd_headers_next(current)
        }
        return headers
    }

    private static func body(of raw: RawRequest) -> [UInt8] {
        guard let buffer = evhttp_request_get_input_buffer(raw) else { return [] }
        let length = evbuffer_get_length(buffer)
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: length) { bytes, count in
            count = Int(evbuffer_remove(buffer, bytes.baseAddress, length))
            if count < 0 { count = 0 }
        }
    }

    private static func isSecure(_ raw: RawRequest) -> Bool {
        guard let connection = evhttp_request_get_connection(raw),
              let bufferevent = evhttp_connection_get_bufferevent(connection) else { return false }
        return bufferevent_openssl_get_ssl(bufferevent) != nil
    }
}

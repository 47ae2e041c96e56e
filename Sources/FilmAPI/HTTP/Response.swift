/// What a handler answers. The body is bytes; HEAD replies keep the headers and drop the body
/// at the transport, so that `Content-Length` stays that of the GET.
struct Response: Sendable {
    var status: HTTPStatus
    var headers: HTTPHeaders
    var body: [UInt8]

    init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        // The chain adds a dozen headers on the way out (security, CORS, rate limits): one
        // allocation instead of the array doubling four times.
        self.headers.reserveCapacity(20)
        self.body = body
    }

    /// A JSON response from already-encoded bytes.
    static func json(_ body: [UInt8], status: HTTPStatus = .ok) -> Response {
        // Added to the reserved list: a one-field literal would be an array of its own.
        var response = Response(status: status, body: body)
        response.headers.add("Content-Type", "application/json")
        return response
    }

    static func noContent() -> Response { Response(status: .noContent) }
}

/// A response status with its reason phrase (RFC 9110 §15).
struct HTTPStatus: Sendable, Hashable {
    let code: Int

    init(_ code: Int) { self.code = code }

    static let ok = HTTPStatus(200)
    static let created = HTTPStatus(201)
    static let noContent = HTTPStatus(204)
    static let badRequest = HTTPStatus(400)
    static let unauthorized = HTTPStatus(401)
    static let forbidden = HTTPStatus(403)
    static let notFound = HTTPStatus(404)
    static let methodNotAllowed = HTTPStatus(405)
    static let requestTimeout = HTTPStatus(408)
    static let contentTooLarge = HTTPStatus(413)
    static let uriTooLong = HTTPStatus(414)
    static let unsupportedMediaType = HTTPStatus(415)
    static let tooManyRequests = HTTPStatus(429)
    static let headerFieldsTooLarge = HTTPStatus(431)
    static let internalServerError = HTTPStatus(500)
    static let notImplemented = HTTPStatus(501)
    static let serviceUnavailable = HTTPStatus(503)

    var reasonPhrase: String {
        switch code {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }
}

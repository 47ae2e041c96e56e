/// An RFC 9457 problem: the one error type handlers and middleware throw. It knows its status
/// and renders itself as `application/problem+json`; nothing internal ever goes into it.
struct Problem: Error, Sendable {
    struct FieldError: Sendable, Equatable {
        var field: String
        var reason: String

        init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }
    }

    var status: HTTPStatus
    /// The problem type's last path segment, e.g. `validation-failed`; `nil` = `about:blank`.
    var type: String?
    var title: String
    var detail: String
    var errors: [FieldError]
    /// Headers the response must carry (`Allow`, `Retry-After`, `WWW-Authenticate`, ...).
    var headers: HTTPHeaders

    init(_ status: HTTPStatus, type: String? = nil, title: String? = nil, detail: String,
         errors: [FieldError] = [], headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.type = type
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    static let typeBase = "https://filmd.dev/problems/"

    func response(requestID: String) -> Response {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("type", type.map { Self.typeBase + $0 } ?? "about:blank")
        json.field("title", title)
        json.field("status", status.code)
        json.field("detail", detail)
        json.field("request_id", requestID)
        if !errors.isEmpty {
            json.key("errors")
            json.beginArray()
            for error in errors {
                json.beginObject()
                json.field("field", error.field)
                json.field("reason", error.reason)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
        var headers = self.headers
        headers.set("Content-Type", "application/problem+json")
        return Response(status: status, headers: headers, body: json.bytes)
    }
}

extension Problem {
    static func notFound(_ detail: String = "No resource lives at this path.") -> Problem {
        Problem(.notFound, type: "not-found", detail: detail)
    }

    static func badRequest(_ detail: String, errors: [FieldError] = []) -> Problem {
        Problem(.badRequest, type: "bad-request", detail: detail, errors: errors)
    }

    static func validation(_ errors: [FieldError]) -> Problem {
        Problem(.badRequest, type: "validation-failed", title: "Validation Failed",
                detail: "The request body is not a valid film: see errors.", errors: errors)
    }

    static func methodNotAllowed(allow: [HTTPMethod]) -> Problem {
        let list = allow.map(\.rawValue).joined(separator: ", ")
        return Problem(.methodNotAllowed, type: "method-not-allowed",
                       detail: "This path accepts \(list).", headers: HTTPHeaders([("Allow", list)]))
    }

    static func unavailable(_ detail: String) -> Problem {
        Problem(.serviceUnavailable, type: "unavailable", detail: detail)
    }
}

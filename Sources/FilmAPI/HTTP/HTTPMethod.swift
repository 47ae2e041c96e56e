/// The request methods filmd knows. Anything else arrives as `.other` and is answered 405/501.
public enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    case GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT
    case other = "UNKNOWN"
}

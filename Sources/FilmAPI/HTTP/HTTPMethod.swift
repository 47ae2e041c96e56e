/// The request methods filmd knows. Anything else arrives as `.other` and is answered 405/501.
enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    case GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE, CONNECT
    case other = "UNKNOWN"

    /// By case: a raw-value enum otherwise hashes its name (the standard library's
    /// `RawRepresentable` default), a String hash on every routing and limiter lookup.
    func hash(into hasher: inout Hasher) {
        hasher.combine(ordinal)
    }

    private var ordinal: UInt8 {
        switch self {
        case .GET: 0
        case .HEAD: 1
        case .POST: 2
        case .PUT: 3
        case .PATCH: 4
        case .DELETE: 5
        case .OPTIONS: 6
        case .TRACE: 7
        case .CONNECT: 8
        case .other: 9
        }
    }
}

/// `rate_limits.storage`, parsed: this process's memory, or a Redis server that every node
/// shares (SPEC §9), over TCP (`redis://HOST:PORT/DB`, port 6379 and database 0 by default,
/// an IPv6 host in brackets) or a Unix socket (`unix:///PATH`, database 0).
enum RateLimitStorage: Equatable, Sendable {
    case memory
    case redis(RedisAddress)

    struct RedisAddress: Equatable, Sendable {
        enum Endpoint: Equatable, Sendable {
            case tcp(host: String, port: Int)
            case unix(path: String)
        }

        let endpoint: Endpoint
        let database: Int
    }

    /// The storage a setting names, or why it names none (a phrase after the quoted value).
    static func parse(_ text: String) -> Result<RateLimitStorage, Reason> {
        if text == "memory" { return .success(.memory) }
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/"), path.count > 1, !path.contains("?") else { return .failure(.init("is not unix:///PATH (an absolute path)")) }
            return .success(.redis(RedisAddress(endpoint: .unix(path: path), database: 0)))
        }
        guard text.hasPrefix("redis://") else { return .failure(.init("must be memory, redis://HOST:PORT/DB or unix:///PATH")) }
        var rest = Substring(text.dropFirst("redis://".count))
        guard !rest.contains("@") else { return .failure(.init("carries credentials, which filmd does not send (use a Unix socket or a trusted network)")) }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let digits = rest[rest.index(after: slash)...]
            guard digits.isEmpty || (digits.count <= 2 && digits.allSatisfy(\.isASCIIDigit)), let number = digits.isEmpty ? 0 : Int(digits) else {
                return .failure(.init("has a database that is not a number from 0 to 99"))
            }
            database = number
            rest = rest[..<slash]
        }
        var host = rest, port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return .failure(.init("has an unclosed [IPv6] host")) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            rest = rest[colon...]
        } else {
            rest = ""
        }
        if rest.hasPrefix(":") {
            let digits = rest.dropFirst()
            guard (1...5).contains(digits.count), digits.allSatisfy(\.isASCIIDigit), let number = Int(digits), (1...65535).contains(number) else {
                return .failure(.init("has a port that is not from 1 to 65535"))
            }
            port = number
        } else if !rest.isEmpty {
            return .failure(.init("is not redis://HOST:PORT/DB"))
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCIIHostCharacter }) else { return .failure(.init("has no valid host")) }
        return .success(.redis(RedisAddress(endpoint: .tcp(host: String(host), port: port), database: database)))
    }

    /// Why a setting names no storage.
    struct Reason: Error, Equatable {
        let text: String
        init(_ text: String) { self.text = text }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIIHostCharacter: Bool { isASCII && (isLetter || isNumber || self == "." || self == "-" || self == ":") }
}

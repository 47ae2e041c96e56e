/// One entry of `cors.allowed_origins`: an exact origin (normalised: lower-case scheme and
/// host, default port dropped), `*`, or `https://*.example.com`, which matches whole host
/// labels under example.com and never example.com itself, `evil-example.com` or
/// `example.com.evil.net`.
public enum OriginRule: Sendable, Equatable {
    case any
    case exact(Origin)
    case subdomains(scheme: String, suffix: [Substring], port: Int)

    public init?(_ text: String) {
        if text == "*" {
            self = .any
            return
        }
        if let star = text.range(of: "://*.") {
            let scheme = String(text[..<star.lowerBound]).lowercased()
            guard let origin = Origin(scheme + "://" + text[star.upperBound...]) else { return nil }
            let labels = origin.host.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else { return nil }
            self = .subdomains(scheme: origin.scheme, suffix: labels, port: origin.port)
            return
        }
        guard let origin = Origin(text) else { return nil }
        self = .exact(origin)
    }

    public func matches(_ origin: Origin) -> Bool {
        switch self {
        case .any:
            return true
        case .exact(let allowed):
            return allowed == origin
        case .subdomains(let scheme, let suffix, let port):
            guard origin.scheme == scheme, origin.port == port else { return false }
            let labels = origin.host.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count > suffix.count, labels.allSatisfy({ !$0.isEmpty }) else { return false }
            return Array(labels.suffix(suffix.count)) == suffix
        }
    }
}

/// A serialized origin (RFC 6454): scheme, host, port. `null` and anything with a path,
/// user info, query or fragment is not one.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    public init?(_ text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = Substring(text[separator.upperBound...])
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \\".contains($0) }) else { return nil }
        var port = scheme == "https" ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let given = Int(after.dropFirst()), (1...65535).contains(given) else { return nil }
                port = given
            }
            rest = rest[...close]
        } else if let colon = rest.lastIndex(of: ":") {
            guard let given = Int(rest[rest.index(after: colon)...]), (1...65535).contains(given) else { return nil }
            port = given
            rest = rest[..<colon]
        }
        let host = rest.lowercased()
        guard !host.isEmpty, host.utf8.allSatisfy({ HTTPToken.isTokenByte($0) || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: ":") }) else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    public var description: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }
}

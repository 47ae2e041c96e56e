/// One entry of `cors.allowed_origins`: an exact origin (normalised: lower-case scheme and
/// host, default port dropped), `*`, or `https://*.example.com`, which matches whole host
/// labels under example.com and never example.com itself, `evil-example.com` or
/// `example.com.evil.net`.
enum OriginRule: Sendable, Equatable {
    case any
    case exact(Origin)
    case subdomains(scheme: String, suffix: [Substring], port: Int)

    /// Nil for anything else, including a `*` anywhere but as the whole leftmost host label
    /// (`https://*.com.*`, `https://a*.example.com`, `https://example.*`): `*` is a token byte,
    /// so without this check such a rule would load as an exact origin nobody sends, or as a
    /// wildcard in a place the matcher does not treat as one.
    init?(_ text: String) {
        if text == "*" {
            self = .any
            return
        }
        if let star = text.range(of: "://*.") {
            let scheme = String(text[..<star.lowerBound]).lowercased()
            guard let origin = Origin(scheme + "://" + text[star.upperBound...]), !origin.host.contains("*") else { return nil }
            let labels = origin.host.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else { return nil }
            self = .subdomains(scheme: origin.scheme, suffix: labels, port: origin.port)
            return
        }
        guard let origin = Origin(text), !origin.host.contains("*") else { return nil }
        self = .exact(origin)
    }

    func matches(_ origin: Origin) -> Bool {
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
/// user info, query or fragment is not one. Parsed on the UTF-8 bytes: every cross-origin
/// request carries one.
struct Origin: Sendable, Hashable, CustomStringConvertible {
    let scheme: String
    let host: String
    let port: Int

    init?(_ text: String) {
        var text = text
        guard let origin = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = origin
    }

    private init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    var description: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Origin? {
        let colon = UInt8(ascii: ":"), slash = UInt8(ascii: "/")
        guard let schemeEnd = bytes.firstIndex(of: colon), schemeEnd + 3 < bytes.count,
              bytes[schemeEnd + 1] == slash, bytes[schemeEnd + 2] == slash else { return nil }
        let scheme: String
        switch String(decoding: UnsafeBufferPointer(rebasing: bytes[..<schemeEnd]), as: UTF8.self).lowercased() {
        case "http": scheme = "http"
        case "https": scheme = "https"
        default: return nil
        }
        var rest = UnsafeBufferPointer(rebasing: bytes[(schemeEnd + 3)...])
        guard !rest.contains(where: isForbidden) else { return nil }
        var port = scheme == "https" ? 443 : 80
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let after = UnsafeBufferPointer(rebasing: rest[(close + 1)...])
            if !after.isEmpty {
                guard after.first == colon, let given = Self.port(UnsafeBufferPointer(rebasing: after.dropFirst())) else { return nil }
                port = given
            }
            rest = UnsafeBufferPointer(rebasing: rest[...close])
        } else if let portStart = rest.lastIndex(of: colon) {
            guard let given = Self.port(UnsafeBufferPointer(rebasing: rest[(portStart + 1)...])) else { return nil }
            port = given
            rest = UnsafeBufferPointer(rebasing: rest[..<portStart])
        }
        guard !rest.isEmpty, rest.allSatisfy(isHostByte) else { return nil }
        let host = String(decoding: rest.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        return Origin(scheme: scheme, host: host, port: port)
    }

    /// A port: 1 to 5 digits, 1...65535.
    private static func port(_ digits: UnsafeBufferPointer<UInt8>) -> Int? {
        guard (1...5).contains(digits.count) else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return (1...65535).contains(value) ? value : nil
    }

    private static func isForbidden(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "@"), UInt8(ascii: " "), UInt8(ascii: "\\"): true
        default: false
        }
    }

    private static func isHostByte(_ byte: UInt8) -> Bool {
        HTTPToken.isTokenByte(byte) || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: ":")
    }
}

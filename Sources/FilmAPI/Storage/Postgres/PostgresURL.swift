import Foundation

/// `database.url`: a libpq connection URI (`postgres://user[:password]@host[:port]/db[?k=v]`).
/// Only its shape is checked here; libpq parses it when connecting. The password, in the
/// userinfo or as `?password=`, never reaches a log line: `redacted` is what may be shown.
public struct PostgresURL: Sendable, Equatable {
    public let text: String

    public init?(_ text: String) {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
              text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else { return nil }
        self.text = text
    }

    private var scheme: Substring { text[..<text.range(of: "://")!.upperBound] }
    private var rest: Substring { text[scheme.endIndex...] }
    /// `user[:password]@host[:port]`, before the first `/` or `?`.
    private var authority: Substring { rest.prefix { $0 != "/" && $0 != "?" } }
    private var tail: Substring { rest[authority.endIndex...] }
    private var userinfo: Substring? { authority.lastIndex(of: "@").map { authority[..<$0] } }

    /// The URI with any password replaced by `<redacted>`.
    public var redacted: String { rewritten { _ in "<redacted>" } }

    /// The URI without its password (for a command line other users can read), and the
    /// password, percent-decoded, for `PGPASSWORD`.
    var withoutPassword: String { rewritten { _ in nil } }

    var password: String? {
        if let userinfo, let colon = userinfo.firstIndex(of: ":") {
            return Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
        }
        return queryItems.first { $0.key == "password" }.map { Self.percentDecoded($0.value) }
    }

    private var queryItems: [(key: Substring, value: Substring)] {
        guard let question = tail.firstIndex(of: "?") else { return [] }
        return tail[tail.index(after: question)...].split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    /// The URI with the password replaced by `replacement(password)`, or removed when it is nil.
    private func rewritten(_ replacement: (Substring) -> String?) -> String {
        var out = String(scheme)
        if let userinfo {
            if let colon = userinfo.firstIndex(of: ":") {
                out += userinfo[..<colon]
                if let new = replacement(userinfo[userinfo.index(after: colon)...]) { out += ":" + new }
            } else {
                out += userinfo
            }
            out += authority[userinfo.endIndex...]
        } else {
            out += authority
        }
        guard let question = tail.firstIndex(of: "?") else { return out + tail }
        out += tail[..<question]
        let items = queryItems.compactMap { item -> String? in
            guard item.key == "password" else { return "\(item.key)=\(item.value)" }
            return replacement(item.value).map { "password=\($0)" }
        }
        return items.isEmpty ? out : out + "?" + items.joined(separator: "&")
    }

    private static func percentDecoded(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }
}

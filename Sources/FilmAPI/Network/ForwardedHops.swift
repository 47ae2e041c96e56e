/// The addresses a request passed through, as proxies recorded them: `X-Forwarded-For:
/// client, proxy1` or RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`, left
/// (farthest) to right (nearest). Entries are kept as text; the caller parses what it walks.
enum ForwardedHops {
    /// At most this many hops are looked at, from the right.
    static let limit = 32

    /// The hops of `X-Forwarded-For` if present (several fields joined in order), else of
    /// `Forwarded`. A proxy that uses `Forwarded` must remove any `X-Forwarded-For` it receives.
    static func hops(in headers: HTTPHeaders) -> [Substring] {
        let forwardedFor = headers.values("X-Forwarded-For")
        if !forwardedFor.isEmpty {
            return forwardedFor.flatMap { $0.split(separator: ",") }.suffix(limit).map { host(of: $0.trimmingWhitespace()[...]) }
        }
        return headers.values("Forwarded").flatMap { $0.split(separator: ",") }.suffix(limit).map { element in
            let pairs = element.split(separator: ";").map { $0.trimmingWhitespace() }
            guard let pair = pairs.first(where: { $0.lowercased().hasPrefix("for=") }) else { return "" }
            return host(of: pair.dropFirst(4)[...])
        }
    }

    /// `"[2001:db8::1]:4711"` → `2001:db8::1`; `192.0.2.1:80` → `192.0.2.1`; otherwise as is.
    static func host(of value: Substring) -> Substring {
        var text = value
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return text[text.index(after: text.startIndex)..<close]
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return text[..<colon]
        }
        return text
    }
}

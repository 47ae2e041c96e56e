/// What a request presents to prove who it is: an API key in `Authorization: Bearer <key>`
/// (scheme case-insensitive) or `X-API-Key: <key>`. Never the URL: a key in a query string
/// ends up in proxy logs and browser history, so it is not even looked for.
public enum Credentials: Sendable, Equatable {
    /// Nothing sent: the request is anonymous.
    case none
    case token(APIKeyToken)
    /// Something sent that is not one filmd key: another scheme, a wrong shape, two different keys.
    case malformed

    public init(headers: HTTPHeaders) {
        var presented: [Substring] = []
        for value in headers.values("Authorization") {
            guard let token = Self.bearerToken(value) else {
                self = .malformed
                return
            }
            presented.append(token)
        }
        for value in headers.values("X-API-Key") { presented.append(Self.trimmed(value[...])) }
        guard let first = presented.first else {
            self = .none
            return
        }
        guard presented.allSatisfy({ $0 == first }), let token = APIKeyToken(first) else {
            self = .malformed
            return
        }
        self = .token(token)
    }

    /// `Bearer <token>`: the scheme in any case, then spaces, then the token.
    private static func bearerToken(_ value: String) -> Substring? {
        let text = trimmed(value[...])
        guard let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }),
              text[..<space].equalsIgnoringASCIICase("Bearer") else { return nil }
        return trimmed(text[space...])
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }
}

extension Substring {
    fileprivate func equalsIgnoringASCIICase(_ other: String) -> Bool {
        String(self).equalsIgnoringASCIICase(other)
    }
}

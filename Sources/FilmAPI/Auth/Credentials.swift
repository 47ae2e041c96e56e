/// What a request presents to prove who it is: an API key in `Authorization: Bearer <key>`
/// (scheme case-insensitive) or `X-API-Key: <key>`. Never the URL: a key in a query string
/// ends up in proxy logs and browser history, so it is not even looked for.
enum Credentials: Sendable, Equatable {
    /// Nothing sent: the request is anonymous.
    case none
    case token(APIKeyToken)
    /// Something sent that is not one filmd key: another scheme, a wrong shape, two different keys.
    case malformed

    /// One pass over the fields, on their bytes: every request with a role runs this.
    init(headers: HTTPHeaders) {
        var presented: Substring?
        for field in headers.fields {
            let token: Substring
            if field.name.equalsIgnoringASCIICase("Authorization") {
                guard let bearer = Self.bearerToken(field.value) else {
                    self = .malformed
                    return
                }
                token = bearer
            } else if field.name.equalsIgnoringASCIICase("X-API-Key") {
                token = Self.trimmed(field.value[...])
            } else {
                continue
            }
            // Two different keys in one request: neither is taken.
            if let presented, presented != token {
                self = .malformed
                return
            }
            presented = token
        }
        guard let presented else {
            self = .none
            return
        }
        guard let token = APIKeyToken(presented) else {
            self = .malformed
            return
        }
        self = .token(token)
    }

    /// `Bearer <token>`: the scheme in any case, then spaces, then the token.
    private static func bearerToken(_ value: String) -> Substring? {
        let text = trimmed(value[...])
        guard let space = text.utf8.firstIndex(where: isBlank),
              text.utf8[..<space].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        return trimmed(text[space...])
    }

    private static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.utf8.firstIndex(where: { !isBlank($0) }),
              let last = text.utf8.lastIndex(where: { !isBlank($0) }) else { return "" }
        // The end by UTF-8 index: a closed range would step over a Character to find it.
        return text[first..<text.utf8.index(after: last)]
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
}

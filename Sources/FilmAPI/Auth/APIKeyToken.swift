/// An API key as a client holds it: `filmd_<id>_<secret>`. The prefix lets secret scanners
/// find a leaked key, the id (12 base62 characters) names it in logs and on the command line,
/// and the secret (32 base62 characters, 190 bits from the system's CSPRNG) is what proves it.
/// Only the secret's SHA-256 is ever stored.
public struct APIKeyToken: Sendable, Equatable {
    static let prefix = "filmd_"
    static let idLength = 12
    static let secretLength = 32

    let id: String
    let secret: String

    var text: String { Self.prefix + id + "_" + secret }

    /// A new key from `SystemRandomNumberGenerator` (the kernel's CSPRNG).
    static func generate() -> APIKeyToken {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    static func generate<Generator: RandomNumberGenerator>(using generator: inout Generator) -> APIKeyToken {
        APIKeyToken(id: Base62.random(count: idLength, using: &generator),
                    secret: Base62.random(count: secretLength, using: &generator))
    }

    private init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// Parses a key exactly: the prefix, an id and a secret of the right lengths, nothing else.
    init?(_ text: some StringProtocol) {
        // In place when the text is contiguous (a header value is): no copy of the key.
        guard let token = text.utf8.withContiguousStorageIfAvailable(Self.parse)
                ?? Array(text.utf8).withUnsafeBufferPointer(Self.parse) else { return nil }
        self = token
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> APIKeyToken? {
        let idStart = prefix.utf8.count, separator = idStart + idLength
        guard bytes.count == separator + 1 + secretLength, startsWithPrefix(bytes),
              bytes[separator] == UInt8(ascii: "_"),
              bytes[idStart..<separator].allSatisfy(Base62.isDigit),
              bytes[(separator + 1)...].allSatisfy(Base62.isDigit) else { return nil }
        return APIKeyToken(id: String(decoding: bytes[idStart..<separator], as: UTF8.self),
                           secret: String(decoding: bytes[(separator + 1)...], as: UTF8.self))
    }

    /// Compared as bytes: the generic `starts(with:)` cost more than the rest of the parse.
    private static func startsWithPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        prefix.utf8.withContiguousStorageIfAvailable { expected in
            bytes.count >= expected.count && UnsafeBufferPointer(rebasing: bytes[..<expected.count]).elementsEqual(expected)
        } ?? bytes.starts(with: prefix.utf8)
    }

    /// Whether `id` has the shape of a key id (for `filmd keys revoke ID`).
    static func isKeyID(_ id: String) -> Bool {
        id.utf8.count == idLength && id.utf8.allSatisfy(Base62.isDigit)
    }
}
